//go:build linux

package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/cli"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// cliMainEnv makes the test binary, re-executed, behave as the runplane binary (cmd/runplane's main).
const cliMainEnv = "RUNPLANE_CLI_TEST_MAIN"

func init() {
	if os.Getenv(cliMainEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
}

// runplaneProcess returns the runplane binary as a process: args, env (added to a PATH and the termination log).
func runplaneProcess(t *testing.T, tlog string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append([]string{
		cliMainEnv + "=1",
		"PATH=" + os.Getenv("PATH"),
		"RUNPLANE_TERMINATION_LOG=" + tlog,
		"GORACE=atexit_sleep_ms=0", // a -race binary sleeps 1s when it exits 0
	}, env...)
	cmd.WaitDelay = 30 * time.Second
	return cmd
}

// exitCode runs cmd to its end and returns its exit code.
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode()
}

func TestPodCheckout(t *testing.T) {
	t.Parallel()
	const token = "pod-checkout-t0ken"
	bare := gittest.NewRepo(t, map[string]string{"hello.sh": "#!/bin/sh\necho hello\n"})
	url := gittest.ServeHTTP(t, bare, gitsource.TokenUser, token)
	secrets := t.TempDir()
	if err := os.WriteFile(filepath.Join(secrets, "API_KEY"), []byte("k3y"), 0o440); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, branch         string
		wantCode             int
		wantStdout, wantMsg  string // wantMsg: on stderr (with a newline) and in the termination log
		wantFiles, wantTools bool
	}{
		{name: "main", branch: "main", wantStdout: fmt.Sprintf("checked out main at %s\n", gittest.Head(t, bare, "main")),
			wantMsg: "", wantFiles: true, wantTools: true},
		{name: "missing branch", branch: "nope", wantCode: 1, wantMsg: fmt.Sprintf("branch %q not found in %s", "nope", url)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ws, tools, dst := t.TempDir(), t.TempDir(), t.TempDir()
			tlog := filepath.Join(t.TempDir(), "termination-log")
			cmd := runplaneProcess(t, tlog, []string{
				"RUNPLANE_GIT_URL=" + url, "RUNPLANE_GIT_BRANCH=" + tc.branch, "RUNPLANE_GIT_TOKEN=" + token,
				"RUNPLANE_WORKSPACE=" + ws, "RUNPLANE_TOOLS=" + tools,
				"RUNPLANE_SECRETS_SRC=" + secrets, "RUNPLANE_SECRETS_DST=" + dst,
			}, "pod", "checkout")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			code := exitCode(t, cmd)
			log, _ := os.ReadFile(tlog)
			for name, s := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String(), "termination log": string(log)} {
				if strings.Contains(s, token) {
					t.Errorf("%s = %q, contains the token", name, s)
				}
			}
			if code != tc.wantCode || stdout.String() != tc.wantStdout {
				t.Errorf("runplane pod checkout = %d, stdout %q; want %d, %q", code, stdout.String(), tc.wantCode, tc.wantStdout)
			}
			if tc.wantMsg != "" {
				if stderr.String() != tc.wantMsg+"\n" || string(log) != tc.wantMsg {
					t.Errorf("stderr, termination log = %q, %q; want %q", stderr.String(), log, tc.wantMsg)
				}
			} else if stderr.String() != "" || !strings.HasPrefix(string(log), "commit ") {
				t.Errorf("stderr, termination log = %q, %q; want nothing, the commit", stderr.String(), log)
			}
			_, err := os.Stat(filepath.Join(ws, "hello.sh"))
			if (err == nil) != tc.wantFiles {
				t.Errorf("hello.sh checked out: %v, want %v", err, tc.wantFiles)
			}
			fi, err := os.Stat(filepath.Join(tools, "runplane-pid1"))
			if (err == nil && fi.Mode().Perm() == 0o555) != tc.wantTools {
				t.Errorf("tools/runplane-pid1: %v, %v; want present with mode 0555: %v", fi, err, tc.wantTools)
			}
			if tc.wantFiles {
				if fi, err := os.Stat(filepath.Join(dst, "API_KEY")); err != nil || fi.Mode().Perm() != 0o400 {
					t.Errorf("secret API_KEY: %v, %v; want mode 0400", fi, err)
				}
			}
		})
	}
}

func TestPodRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
	}{
		{"exit code", []string{"pod", "run", "--", "sh", "-c", "echo out; echo err >&2; exit 3"}, 3, "out\nerr\n"},
		{"without --", []string{"pod", "run", "sh", "-c", `echo "$0 $1"`, "a", "-b"}, 0, "a -b\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tlog := filepath.Join(t.TempDir(), "termination-log")
			cmd := runplaneProcess(t, tlog, nil, tc.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if code := exitCode(t, cmd); code != tc.wantCode || stdout.String() != tc.wantStdout || stderr.String() != "" {
				t.Errorf("runplane %s = %d, %q, %q; want %d, %q, no stderr",
					strings.Join(tc.args, " "), code, stdout.String(), stderr.String(), tc.wantCode, tc.wantStdout)
			}
		})
	}
}

// TestPodRunTerminated sends SIGTERM to `runplane pod run`, as the kubelet does to stop a job's container.
func TestPodRunTerminated(t *testing.T) {
	t.Parallel()
	tlog := filepath.Join(t.TempDir(), "termination-log")
	cmd := runplaneProcess(t, tlog, nil, "pod", "run", "--", "sh", "-c", "echo ready; exec sleep 1000")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	defer func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	}()

	_ = r.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, len("ready\n"))
	if _, err := r.Read(buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("stdout = %q, %v; want %q", buf, err, "ready\n")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("runplane pod run did not end on SIGTERM")
	}
	if code := cmd.ProcessState.ExitCode(); code != 143 || stderr.String() != "" {
		t.Errorf("exit code, stderr = %d, %q; want 143, nothing", code, stderr.String())
	}
	if log, _ := os.ReadFile(tlog); string(log) != "signal: terminated\noutput: 6 bytes" {
		t.Errorf("termination log = %q, want %q", log, "signal: terminated\noutput: 6 bytes")
	}
}

func TestPodHidden(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := cli.Run(t.Context(), []string{"--help"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("runplane --help = %d, stderr %q", code, stderr.String())
	}
	if strings.Contains(stdout.String(), "pod") {
		t.Errorf("runplane --help lists the hidden pod command:\n%s", stdout.String())
	}
}
