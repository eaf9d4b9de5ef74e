package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// binary is the runplane binary built for this test run.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "runplane-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "runplane")
	build := exec.Command("go", "build", "-o", binary, "../../cmd/runplane")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build runplane:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const rootPassword = "e2e-root-password"

// serverProc is a running `runplane serve`.
type serverProc struct {
	cmd    *exec.Cmd
	url    string
	output *strings.Builder
	exited chan struct{}
}

// startServe starts `runplane serve` on a free loopback port over dataDir and waits until it listens.
func startServe(t testing.TB, dataDir string, args ...string) *serverProc {
	t.Helper()
	args = append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir}, args...)
	cmd := exec.Command(binary, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "RUNPLANE_ROOT_PASSWORD=" + rootPassword}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProc{cmd: cmd, output: &strings.Builder{}, exited: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			p.output.WriteString(line + "\n")
			if i := strings.Index(line, "listening on http://"); i >= 0 {
				select {
				case found <- strings.TrimSpace(line[i+len("listening on "):]):
				default:
				}
			}
		}
	}()
	go func() { cmd.Wait(); pw.Close(); close(p.exited) }()
	t.Cleanup(func() { p.kill() })
	select {
	case p.url = <-found:
	case <-p.exited:
		t.Fatalf("runplane serve exited early:\n%s", p.output)
	case <-time.After(60 * time.Second):
		t.Fatalf("runplane serve did not start listening in time:\n%s", p.output)
	}
	return p
}

// kill sends SIGKILL to the server alone (not its process group: jobs must die on their own) and waits for it.
func (p *serverProc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop sends SIGTERM and waits for a graceful exit.
func (p *serverProc) stop(t testing.TB) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Errorf("server did not exit 30s after SIGTERM")
		p.kill()
	}
}

func login(t *testing.T, url string) *client.Client {
	t.Helper()
	c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Login(t.Context(), api.Login{Username: "root", Password: rootPassword, Provider: "local"})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	c.SetToken(tok)
	return c
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
