package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

// binary is the runplane binary built for this test run.
var binary string

// TestMain builds the binary, then runs the tests under pgtest.Main, which stops the shared PostgreSQL server at
// the end and exits. It exits without returning here, so the binary's dir is removed by the next run instead (see
// sweepBuilds).
func TestMain(m *testing.M) {
	sweepBuilds()
	dir, err := os.MkdirTemp("", fmt.Sprintf("runplane-e2e-%d-", os.Getpid()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "runplane")
	// RUNPLANE_E2E_TAGS: build tags for the binary, e.g. pprof (RUNPLANE_PPROF_ADDR then serves net/http/pprof).
	build := exec.Command("go", "build", "-tags", os.Getenv("RUNPLANE_E2E_TAGS"), "-o", binary, "../../cmd/runplane")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build runplane:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	pgtest.Main(m)
}

// sweepBuilds removes the build dirs of earlier test binaries that have exited.
func sweepBuilds() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "runplane-e2e-*-*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.Split(filepath.Base(d), "-")[2])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
			continue // still running
		}
		os.RemoveAll(d)
	}
}

const rootPassword = "e2e-root-password"

// serverProc is a running `runplane serve`.
type serverProc struct {
	cmd    *exec.Cmd
	url    string
	output *syncBuffer
	exited chan struct{}
}

// startServe starts `runplane serve` on a free loopback port over dataDir and waits until it listens.
func startServe(t testing.TB, dataDir string, args ...string) *serverProc {
	t.Helper()
	p, err := launchServe(t, dataDir, nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// launchServe starts `runplane serve` with env added to its environment and waits until it listens. The server
// is killed when t ends. It may be called from any goroutine.
func launchServe(t testing.TB, dataDir string, env []string, args ...string) (*serverProc, error) {
	return launchServeAs(t, nil, dataDir, env, args...)
}

// launchServeAs is launchServe as the user cred names (nil: this process's). HOME is then the data dir.
func launchServeAs(t testing.TB, cred *syscall.Credential, dataDir string, env []string, args ...string) (*serverProc, error) {
	return launchServeBinary(t, binary, cred, dataDir, env, args...)
}

// launchServeBinary is launchServeAs with the given runplane binary.
func launchServeBinary(t testing.TB, bin string, cred *syscall.Credential, dataDir string, env []string, args ...string) (*serverProc, error) {
	args = append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir}, args...)
	cmd := exec.Command(bin, args...)
	home := dataDir
	if cred == nil {
		home = t.TempDir()
	}
	// The load tests and benchmarks queue thousands of jobs as one user, past the default per-owner cap: they
	// lift it (a binary from before the cap ignores the variable, so old and new can be compared).
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "RUNPLANE_ROOT_PASSWORD=" + rootPassword,
		"RUNPLANE_MAX_QUEUED_PER_OWNER=0"}, env...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serverProc{cmd: cmd, output: &syncBuffer{}, exited: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
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
		io.Copy(io.Discard, pr) // a line too long for the scanner must not block the server
	}()
	go func() { cmd.Wait(); pw.Close(); close(p.exited) }()
	t.Cleanup(func() {
		p.kill()
		if dir := os.Getenv("RUNPLANE_E2E_LOGS"); dir != "" {
			// For a failure's post-mortem: every server's output, named by test and pid.
			name := fmt.Sprintf("%s-%d.log", strings.ReplaceAll(t.Name(), "/", "_"), cmd.Process.Pid)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(p.output.String()), 0o644); err != nil {
				t.Errorf("save the server's output: %v", err)
			}
		}
	})
	select {
	case p.url = <-found:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("runplane serve exited early:\n%s", p.output)
	case <-time.After(60 * time.Second):
		return nil, fmt.Errorf("runplane serve did not start listening in time:\n%s", p.output)
	}
}

// syncBuffer collects a server's output, written by the reading goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.WriteString(s)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
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

func login(t testing.TB, url string) *client.Client {
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
