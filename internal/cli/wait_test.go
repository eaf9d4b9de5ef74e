package cli_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/cli"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/server"
	"github.com/runplane/runplane/internal/server/servertest"
)

// TestWaitExitCodes: run --wait, wait and logs -f exit 0 only for a job that succeeded, and otherwise with a code
// that says why; a failed job prints the end of its log.
func TestWaitExitCodes(t *testing.T) {
	h := newHarness(t, true)
	h.ok("", "apply", "-f", h.manifests())
	failed := strings.TrimSpace(h.ok("", "run", "fail", "--wait=0"))
	succeeded := strings.TrimSpace(h.ok("", "run", "hello", "--wait=0"))
	slow := strings.TrimSpace(h.ok("", "run", "slow", "--wait=0"))
	t.Cleanup(func() { h.run("", "cancel", slow) })
	h.run("", "wait", failed, succeeded, "--timeout", "1m") // both done before the cases look at them

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // a regexp
		wantStderr []string
	}{
		{"run --wait with a space", []string{"run", "hello", "--wait", "30s"}, 0, `"greeting"`, []string{"succeeded"}},
		{"run --wait job failed", []string{"run", "fail", "--wait", "30s"}, 1, `^$`, []string{"failed (exit code 3)", "--- its log ---", "about to fail"}},
		{"run --wait still running", []string{"run", "slow", "--wait=1s"}, 3, `^slow-[a-z0-9]{5}\n$`, []string{"still", "the wait ran out"}},
		{"run missing task", []string{"run", "nope", "--wait"}, 4, `^$`, []string{"not found (404)"}},
		{"run unreachable server", []string{"run", "hello", "--wait", "--server", "http://127.0.0.1:1", "--token", "rpat_x"}, 5, `^$`, []string{"Is the server running?"}},
		{"rerun succeeded", []string{"rerun", succeeded, "--wait"}, 0, `"greeting"`, []string{"succeeded"}},
		{"rerun failed", []string{"rerun", failed, "--wait", "30s"}, 1, `^$`, []string{"failed (exit code 3)", "about to fail"}},
		{"rerun async", []string{"rerun", succeeded, "--wait=0"}, 0, `^hello-[a-z0-9]{5}\n$`, nil},
		{"rerun unknown job", []string{"rerun", "hello-zzzzz"}, 4, `^$`, []string{"not found (404)"}},
		{"wait succeeded", []string{"wait", succeeded}, 0, `^job hello-[a-z0-9]{5} succeeded \(exit code 0\)\n$`, nil},
		{"wait failed", []string{"wait", failed}, 1, `failed \(exit code 3\)`, []string{"about to fail"}},
		{"wait still running", []string{"wait", slow, "--timeout", "1s"}, 3, `^job slow-[a-z0-9]{5} running\n$`, nil},
		{"wait several: the worst code", []string{"wait", succeeded, failed, "--timeout=1s"}, 1, `succeeded[\s\S]*failed`, nil},
		{"wait unknown job", []string{"wait", "hello-zzzzz"}, 4, `^$`, []string{"not found (404)"}},
		{"wait unreachable", []string{"wait", succeeded, "--reconnect", "0", "--server", "http://127.0.0.1:1", "--token", "rpat_x"}, 5, `^$`, nil},
		{"logs -f succeeded", []string{"logs", "-f", succeeded}, 0, `hello from hello`, nil},
		{"logs -f failed", []string{"logs", "-f", failed}, 1, `^about to fail\n$`, []string{"failed (exit code 3)"}},
		{"logs unknown job", []string{"logs", "-f", "hello-zzzzz"}, 4, `^$`, []string{"not found (404)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			r := h.run("", tt.args...)
			if r.code != tt.wantCode || !regexp.MustCompile(tt.wantStdout).MatchString(r.stdout) {
				t.Errorf("runplane %s: exit %d, stdout %q; want exit %d, stdout matching %q\nstderr: %s",
					strings.Join(tt.args, " "), r.code, r.stdout, tt.wantCode, tt.wantStdout, r.stderr)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("runplane %s: stderr %q, want it to contain %q", strings.Join(tt.args, " "), r.stderr, w)
				}
			}
			if tt.wantCode == 3 && strings.HasPrefix(r.stdout, "slow-") {
				h.ok("", "cancel", strings.TrimSpace(r.stdout))
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogsFollowResumes: logs -f rides out a server restart: it reconnects, resumes from the byte it reached (no
// line twice, none lost), and exits with the job's outcome.
func TestLogsFollowResumes(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := server.DefaultConfig()
	cfg.Listen, cfg.DataDir, cfg.RootPassword = "127.0.0.1:0", dir, servertest.RootPassword
	start := func() (stop func()) {
		t.Helper()
		log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
		var srv *server.Server
		var err error
		deadline := time.Now().Add(30 * time.Second)
		for {
			// The port of the first server may linger briefly; try until it is free.
			if srv, err = server.Open(t.Context(), cfg, log, io.Discard); err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		cfg.Listen = srv.Addr()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Run(ctx) }()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server.Run: %v", err)
			}
			srv.Close()
		}
	}
	stop := start()
	url := "http://" + cfg.Listen
	c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(t.Context(), api.Login{Username: "root", Password: servertest.RootPassword, Provider: api.ProviderLocal}); err != nil {
		t.Fatal(err)
	}
	repo := gittest.URL(gittest.NewRepo(t, map[string]string{
		"talk.sh": "#!/bin/sh\necho one\nsleep 1\necho two\nsleep 300\necho never\n",
	}))
	if _, err := c.CreateRunner(t.Context(), api.Runner{Name: "r", Image: "alpine:3", GitURL: repo}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTask(t.Context(), api.Task{Name: "talk", Runner: "r", Command: "./talk.sh"}); err != nil {
		t.Fatal(err)
	}
	job, _, err := c.Submit(t.Context(), "talk", nil, client.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- cli.Run(t.Context(), []string{"logs", "-f", job.ID, "--server", url, "--token", c.Token()}, strings.NewReader(""), &out, &errOut)
	}()
	for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), "two\n"); {
		if time.Now().After(deadline) {
			t.Fatalf("logs -f printed %q, want one and two", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop() // the running job is interrupted: it ends failed
	stop = start()
	defer stop()
	select {
	case got := <-code:
		if got != 1 {
			t.Errorf("logs -f across a restart exited %d, want 1 (the job was interrupted)\nstderr: %s", got, errOut.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("logs -f did not end after the server came back")
	}
	rc, err := c.Log(t.Context(), job.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	whole, _ := io.ReadAll(rc)
	rc.Close()
	if out.String() != string(whole) {
		t.Errorf("logs -f printed %q, want the job's whole log %q exactly once", out.String(), whole)
	}
	if !strings.Contains(errOut.String(), "failed") {
		t.Errorf("logs -f stderr %q, want the job's outcome", errOut.String())
	}
}
