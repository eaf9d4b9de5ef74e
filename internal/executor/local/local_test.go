//go:build linux

package local_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/executortest"
	"github.com/runplane/runplane/internal/executor/local"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/gitsource/gittest"
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
	ex, err := local.New(local.Options{WorkDir: t.TempDir(), Logger: testLogger(t)})
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

func TestWorkspaceRemoved(t *testing.T) {
	t.Parallel()
	for _, iso := range []string{local.IsolationNamespace, local.IsolationNone} {
		t.Run(iso, func(t *testing.T) {
			t.Parallel()
			work := filepath.Join(t.TempDir(), "work")
			ex, err := local.New(local.Options{WorkDir: work, Isolation: iso, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			out := outputFile(t)
			h, err := ex.Start(t.Context(), executor.Spec{JobID: "ws", Command: "pwd; echo data > file", Output: out, Secrets: map[string]string{"K": "v"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ex.Wait(t.Context(), h); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(out.Name())
			if !strings.HasPrefix(string(b), work+"/") {
				t.Fatalf("job ran in %q, want a directory under %s", b, work)
			}
			waitFor(t, 10*time.Second, "the workspace to be removed", func() bool {
				entries, _ := os.ReadDir(work)
				for _, e := range entries {
					if e.Name() != "job" { // the mount point of tmpfs workspaces
						return false
					}
					if inner, _ := os.ReadDir(filepath.Join(work, e.Name())); len(inner) > 0 {
						return false
					}
				}
				return true
			})
		})
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
// namespaces the leftovers die at Recover.
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

			if iso == local.IsolationNone {
				// Pdeathsig killed the shell only; the rest of its process group remains until Recover.
				if left := executortest.ProcessesWithEnv("RP_MARKER", marker); len(left) == 0 {
					t.Log("no leftovers to recover (all died with the shell)")
				}
				ex, err := local.New(local.Options{WorkDir: work, Isolation: iso, Logger: testLogger(t)})
				if err != nil {
					t.Fatal(err)
				}
				if err := ex.Recover(t.Context(), handle, nil); !errors.Is(err, executor.ErrNotFound) {
					t.Errorf("Recover(%s) = %v, want ErrNotFound", handle, err)
				}
			}
			waitFor(t, 10*time.Second, "every process of the job to die", func() bool {
				return len(executortest.ProcessesWithEnv("RP_MARKER", marker)) == 0
			})
		})
	}
}
