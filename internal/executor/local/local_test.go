//go:build linux

package local_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/cgroup"
	"github.com/runplane/runplane/internal/executor/executortest"
	"github.com/runplane/runplane/internal/executor/local"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/testlog"
)

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hostWorkspaces returns where the workspace of the attempt h is on the host, if anywhere: under work or in a
// shared workspace root under /dev/shm. A handle ends with the workspace's name.
func hostWorkspaces(work string, h executor.Handle) []string {
	name := string(h[strings.LastIndexByte(string(h), ':')+1:])
	shm, _ := filepath.Glob("/dev/shm/runplane-*/" + name)
	var found []string
	for _, p := range append(shm, filepath.Join(work, name)) {
		if _, err := os.Lstat(p); err == nil {
			found = append(found, p)
		}
	}
	return found
}

func outputFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestPrivateRepoWithToken(t *testing.T) {
	t.Parallel()
	const token = "ghs_local-executor-test-token"
	bare := gittest.NewRepo(t, map[string]string{"secret.txt": "private content\n"})
	url := gittest.ServeHTTP(t, bare, "", token)
	ex := newExecutor(t, local.IsolationAuto, gitsource.Options{})

	out := outputFile(t)
	h, err := ex.Start(t.Context(), executor.Spec{JobID: "private-1", Repo: executor.Repo{URL: url, Token: token}, Command: "cat secret.txt; env", Output: out})
	if err != nil {
		t.Fatalf("Start with a good token: %v", err)
	}
	if r, err := ex.Wait(t.Context(), h); err != nil || r.ExitCode != 0 {
		t.Fatalf("Wait = %+v, %v; want exit 0", r, err)
	}
	b, _ := os.ReadFile(out.Name())
	if !strings.HasPrefix(string(b), "private content\n") {
		t.Errorf("job output %q, want the private file first", b)
	}
	if strings.Contains(string(b), token) {
		t.Errorf("the repository token reached the job's environment")
	}

	_, err = ex.Start(t.Context(), executor.Spec{JobID: "private-2", Repo: executor.Repo{URL: url, Token: "bad-" + token}, Command: "true"})
	if err == nil || strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "checkout") {
		t.Errorf("Start with a bad token = %v; want a checkout error without the token", err)
	}
}

func TestStartWithoutRepo(t *testing.T) {
	t.Parallel()
	ex, err := local.New(local.Options{WorkDir: t.TempDir(), Logger: testlog.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	out := outputFile(t)
	h, err := ex.Start(t.Context(), executor.Spec{JobID: "norepo", Command: "ls -A", Output: out})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := ex.Wait(t.Context(), h); err != nil || r.ExitCode != 0 {
		t.Fatalf("Wait = %+v, %v", r, err)
	}
	if b, _ := os.ReadFile(out.Name()); len(b) != 0 {
		t.Errorf("job without a repository ran in a non-empty dir: %q", b)
	}
	_, err = ex.Start(t.Context(), executor.Spec{JobID: "repo", Command: "true", Repo: executor.Repo{URL: "file:///nonexistent"}})
	if err == nil {
		t.Errorf("Start with a repository but no git cache succeeded, want an error")
	}
}

// TestWorkspaceRemoved: each kind of workspace is gone once the job ended, with or without secrets, and nothing
// is left under WorkDir.
func TestWorkspaceRemoved(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts local.Options
	}{
		{"namespace", local.Options{Isolation: local.IsolationNamespace}},
		{"namespace-on-disk", local.Options{Isolation: local.IsolationNamespace, WorkspaceOnDisk: true}},
		{"namespace-tmpfs-per-job", local.Options{Isolation: local.IsolationNamespace, WorkspaceSize: 64 << 20}},
		{"none", local.Options{Isolation: local.IsolationNone}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			work := filepath.Join(t.TempDir(), "work")
			opts := tc.opts
			opts.WorkDir, opts.Logger = work, testlog.New(t)
			ex, err := local.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, secrets := range []map[string]string{nil, {"K": "v"}} {
				out := outputFile(t)
				h, err := ex.Start(t.Context(), executor.Spec{JobID: "ws", Command: "pwd; echo data > file; ls", Output: out, Secrets: secrets})
				if err != nil {
					t.Fatal(err)
				}
				if r, err := ex.Wait(t.Context(), h); err != nil || r.ExitCode != 0 {
					t.Fatalf("Wait = %+v, %v", r, err)
				}
				b, _ := os.ReadFile(out.Name())
				dir, ls, _ := strings.Cut(string(b), "\n")
				if !filepath.IsAbs(dir) || ls != "file\n" {
					t.Fatalf("job printed %q, want its absolute working directory, then the file it made", b)
				}
				waitFor(t, 10*time.Second, "the workspace to be removed", func() bool {
					return len(hostWorkspaces(work, h)) == 0
				})
				entries, _ := os.ReadDir(work)
				for _, e := range entries {
					if e.Name() != "root" && e.Name() != "users" { // the sandboxes' mount point and passwd files
						t.Errorf("%s left in WorkDir after the job (secrets %v)", e.Name(), secrets)
					}
				}
			}
		})
	}
}

// TestJobOutlivesOtherJobs: a job's shell dies (Pdeathsig) with the OS thread that forked it, and a job with a
// mount namespace of its own ends its thread when it ends. Many such jobs must not take a long job with them.
func TestJobOutlivesOtherJobs(t *testing.T) {
	t.Parallel()
	ex := newExecutor(t, local.IsolationAuto, gitsource.Options{})
	out := outputFile(t)
	long, err := ex.Start(t.Context(), executor.Spec{JobID: "long", Command: "echo ready; exec sleep 1000", Output: out})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the long job to start", func() bool {
		b, _ := os.ReadFile(out.Name())
		return strings.Contains(string(b), "ready")
	})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				h, err := ex.Start(t.Context(), executor.Spec{JobID: "short", Command: "true", Secrets: map[string]string{"K": "v"}})
				if err != nil {
					t.Error(err)
					return
				}
				if r, err := ex.Wait(t.Context(), h); err != nil || r.ExitCode != 0 {
					t.Errorf("short job: Wait = %+v, %v", r, err)
				}
			}
		})
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if r, err := ex.Wait(ctx, long); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("long job ended while other jobs ran: Wait = %+v, %v", r, err)
	}
	if err := ex.Stop(t.Context(), long, 0); err != nil {
		t.Fatal(err)
	}
}

func TestInvalidSpec(t *testing.T) {
	t.Parallel()
	ex := newExecutor(t, local.IsolationNone, gitsource.Options{})
	tests := []struct {
		name string
		spec executor.Spec
	}{
		{"empty command", executor.Spec{JobID: "x"}},
		{"secret key with slash", executor.Spec{JobID: "x", Command: "true", Secrets: map[string]string{"../etc": "v"}}},
		{"reserved secret key", executor.Spec{JobID: "x", Command: "true", Secrets: map[string]string{"PATH": "/evil"}}},
		{"NUL in input", executor.Spec{JobID: "x", Command: "true", ExtraVars: []byte("a\x00b")}},
	}
	for _, tc := range tests {
		if h, err := ex.Start(t.Context(), tc.spec); err == nil {
			t.Errorf("%s: Start = %s, nil; want an error", tc.name, h)
		}
	}
}

// TestHelperJobServer is not a test: TestServerKilled runs the test binary as a server that starts one job and
// then waits to be killed.
func TestHelperJobServer(t *testing.T) {
	iso := os.Getenv("RUNPLANE_TEST_HELPER_ISOLATION")
	if iso == "" {
		t.Skip("helper process for TestServerKilled")
	}
	ex, err := local.New(local.Options{WorkDir: os.Getenv("RUNPLANE_TEST_HELPER_WORKDIR"), Isolation: iso})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	marker := os.Getenv("RUNPLANE_TEST_HELPER_MARKER")
	h, err := ex.Start(t.Context(), executor.Spec{JobID: "orphan", Command: "export RP_MARKER=" + marker + "; sleep 1000 & sh -c 'sleep 1000; true' & sleep 1000"})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Println("HANDLE", h)
	select {}
}

// TestServerKilled: when the server dies by SIGKILL, every process of its jobs dies with it (namespaces); without
// namespaces the leftovers die at Recover. The next executor on the same WorkDir removes the job's workspace.
func TestServerKilled(t *testing.T) {
	t.Parallel()
	for _, iso := range []string{local.IsolationNamespace, local.IsolationLauncher, local.IsolationNone} {
		t.Run(iso, func(t *testing.T) {
			t.Parallel()
			marker := fmt.Sprintf("killtest-%s-%d", iso, time.Now().UnixNano())
			work := filepath.Join(t.TempDir(), "work")
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperJobServer$", "-test.v")
			cmd.Env = append(os.Environ(), "RUNPLANE_TEST_HELPER_ISOLATION="+iso, "RUNPLANE_TEST_HELPER_WORKDIR="+work,
				"RUNPLANE_TEST_HELPER_MARKER="+marker)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			var handle executor.Handle
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if h, ok := strings.CutPrefix(sc.Text(), "HANDLE "); ok {
					handle = executor.Handle(h)
					break
				}
				if strings.HasPrefix(sc.Text(), "ERROR") {
					t.Fatalf("helper: %s", sc.Text())
				}
			}
			if handle == "" {
				t.Fatal("helper printed no handle")
			}
			go func() {
				for sc.Scan() {
				}
			}()
			waitFor(t, 10*time.Second, "the job's 4 processes", func() bool {
				return len(executortest.ProcessesWithEnv("RP_MARKER", marker)) >= 4
			})

			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()

			if iso != local.IsolationNone {
				waitFor(t, 10*time.Second, "every process of the job to die with the server", func() bool {
					return len(executortest.ProcessesWithEnv("RP_MARKER", marker)) == 0
				})
			} else if left := executortest.ProcessesWithEnv("RP_MARKER", marker); len(left) == 0 {
				// Pdeathsig killed the shell only; the rest of its process group remains until Recover.
				t.Log("no leftovers to recover (all died with the shell)")
			}
			if len(hostWorkspaces(work, handle)) == 0 {
				t.Fatalf("the killed server's job workspace is already gone")
			}
			ex, err := local.New(local.Options{WorkDir: work, Isolation: iso, Logger: testlog.New(t)})
			if err != nil {
				t.Fatal(err)
			}
			if err := ex.Recover(t.Context(), handle, nil); !errors.Is(err, executor.ErrNotFound) {
				t.Errorf("Recover(%s) = %v, want ErrNotFound", handle, err)
			}
			waitFor(t, 10*time.Second, "every process of the job to die", func() bool {
				return len(executortest.ProcessesWithEnv("RP_MARKER", marker)) == 0
			})
			if left := hostWorkspaces(work, handle); len(left) > 0 {
				t.Errorf("workspace %s of the killed server's job after New and Recover, want it gone", left)
			}
		})
	}
}

// TestLimits: a job over its memory limit ends with reason oom, a fork bomb stops at its pids limit, in each
// isolation mode, with the host's control groups.
func TestLimits(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 && os.Getenv("CI") == "" {
		t.Skip("control groups need root")
	}
	cg, err := cgroup.Open(cgroup.Options{Name: "local-test-" + strconv.Itoa(os.Getpid()), Logger: testlog.New(t)})
	if err != nil {
		t.Fatalf("cgroup.Open: %v", err)
	}
	t.Cleanup(func() { cg.Close() })
	for _, iso := range []string{local.IsolationNamespace, local.IsolationLauncher, local.IsolationNone} {
		t.Run(iso, func(t *testing.T) {
			t.Parallel()
			ex, err := local.New(local.Options{WorkDir: filepath.Join(t.TempDir(), "work"), Isolation: iso, Cgroups: cg, Logger: testlog.New(t)})
			if err != nil {
				t.Fatal(err)
			}
			run := func(cmd string, l executor.Limits) (executor.Result, string) {
				out := outputFile(t)
				h, err := ex.Start(t.Context(), executor.Spec{JobID: "limits", Command: cmd, Output: out, Limits: l})
				if err != nil {
					t.Fatal(err)
				}
				r, err := ex.Wait(t.Context(), h)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := os.ReadFile(out.Name())
				return r, string(b)
			}
			r, out := run(`x=$(head -c 200000000 /dev/zero | tr '\0' x); echo survived ${#x}`, executor.Limits{Memory: 32 << 20})
			if r.Reason != executor.ReasonOOM || strings.Contains(out, "survived") {
				t.Errorf("job over its memory limit = %+v, output %q; want reason %q", r, out, executor.ReasonOOM)
			}
			if iso != local.IsolationLauncher { // the launcher's own threads would count: no pids limit there
				r, out = run(`echo begin; i=0; while [ $i -lt 10 ]; do sleep 5 & i=$((i+1)); done; echo all started`, executor.Limits{Pids: 4})
				if r.ExitCode == 0 || strings.Contains(out, "all started") || !strings.Contains(out, "begin") {
					t.Errorf("job past its pids limit = %+v, output %q; want it to fail to fork", r, out)
				}
			}
			r, out = run(`x=$(head -c 1000000 /dev/zero | tr '\0' x); echo ok ${#x}`, executor.Limits{Memory: 64 << 20, Pids: 64, CPU: 500})
			if r.ExitCode != 0 || r.Reason != "" || !strings.Contains(out, "ok 1000000") || len(r.Warnings) > 1 {
				t.Errorf("job within its limits = %+v, output %q; want success", r, out)
			}
		})
	}
}

// TestNoSandboxSaysSo: without a sandbox, the executor says at start that jobs are not contained, and so does every
// job's result.
func TestNoSandboxSaysSo(t *testing.T) {
	t.Parallel()
	var log strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return log.Write(p)
	}), nil))
	ex, err := local.New(local.Options{WorkDir: filepath.Join(t.TempDir(), "work"), Isolation: local.IsolationNone, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	started := log.String()
	mu.Unlock()
	if strings.Count(started, "NOT a security boundary") != 1 {
		t.Errorf("start log %q: want one line saying jobs are not contained", started)
	}
	h, err := ex.Start(t.Context(), executor.Spec{JobID: "plain", Command: "true"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := ex.Wait(t.Context(), h)
	if err != nil || !slices.Contains(r.Warnings, local.NoSandboxWarning) {
		t.Errorf("Wait = %+v, %v; want the no-sandbox warning", r, err)
	}

	sandboxed := newExecutor(t, local.IsolationNamespace, gitsource.Options{})
	h, err = sandboxed.Start(t.Context(), executor.Spec{JobID: "boxed", Command: "true"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := sandboxed.Wait(t.Context(), h); err != nil || len(r.Warnings) != 0 {
		t.Errorf("sandboxed Wait = %+v, %v; want no warning", r, err)
	}
}

// TestNetworkWarning: the local executor shares the host's network, and a job whose task asks for none or
// private is told so.
func TestNetworkWarning(t *testing.T) {
	ex := newExecutor(t, local.IsolationNamespace, gitsource.Options{})
	for _, n := range []string{"", api.NetworkNone, api.NetworkPrivate, api.NetworkHost} {
		h, err := ex.Start(t.Context(), executor.Spec{JobID: "net", Command: "true", Network: n})
		if err != nil {
			t.Fatal(err)
		}
		r, err := ex.Wait(t.Context(), h)
		if err != nil {
			t.Fatal(err)
		}
		warned := slices.Contains(r.Warnings, local.NetworkWarning(n))
		if want := n == api.NetworkNone || n == api.NetworkPrivate; warned != want || len(r.Warnings) > 1 {
			t.Errorf("network %q: warnings %q, want the network warning %v", n, r.Warnings, want)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
