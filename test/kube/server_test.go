package kube_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/executor/kubeexec/kubetest"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/server"
)

const rootPassword = "kube-test-root-password"

// env is the cluster the tests run against.
type env struct{ *kubetest.Cluster }

func needCluster(t testing.TB) env { return env{kubetest.Need(t)} }

// server is an in-process runplane server with the Kubernetes executor, which a test may stop and start again
// on the same data dir.
type testServer struct {
	cfg  server.Config
	stop func()
	url  string
}

func (e env) newServer(t testing.TB, ns string, edit func(*server.Config)) *testServer {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	os.Chmod(cfg.DataDir, 0o700)
	cfg.RootPassword = rootPassword
	cfg.Executor = server.ExecutorKubernetes
	cfg.Namespace = ns
	cfg.JobImage = e.Image
	if edit != nil {
		edit(&cfg)
	}
	s := &testServer{cfg: cfg}
	s.start(t)
	return s
}

func (s *testServer) start(t testing.TB) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.Open(t.Context(), s.cfg, log, io.Discard)
	if err != nil {
		t.Fatalf("server.Open: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	stopped := false
	s.url = srv.URL()
	s.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server.Run: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("server.Close: %v", err)
		}
	}
	t.Cleanup(s.stop)
}

func (s *testServer) client(t testing.TB) *client.Client {
	t.Helper()
	c, err := client.New(s.url)
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

const repoToken = "repo-token-never-shown"

// script prints its view of the job contract as a ^JSON result: the input, the secret from its file and its
// environment variable, and the user it runs as.
const script = `#!/bin/sh
echo "checked out: $(cat hello.txt)"
echo '^JSON'
printf '{"input":%s,"file":"%s","env":"%s","user":"%s"}\n' "$EXTRA_VARS" "$(cut -c2- /etc/secret/API_KEY)" "${API_KEY#s}" "$(id -u)"
echo '^JSON'
`

// runner publishes a private repository over HTTP where pods reach it and creates runner "r" for it.
func (e env) runner(t testing.TB, c *client.Client, image string) {
	t.Helper()
	bare := gittest.NewRepo(t, map[string]string{"hello.txt": "hello from git", "contract.sh": script})
	url := gittest.ServeHTTPAt(t, e.HostIP, bare, "", repoToken)
	_, err := c.CreateRunner(t.Context(), api.Runner{Name: "r", Image: image, GitURL: url, Token: repoToken,
		Secret: map[string]string{"API_KEY": "s3cret-value"}})
	if err != nil {
		t.Fatalf("create runner: %v", err)
	}
}

func (e env) task(t testing.TB, c *client.Client, task api.Task) {
	t.Helper()
	task.Runner = "r"
	if _, err := c.CreateTask(t.Context(), task); err != nil {
		t.Fatalf("create task %s: %v", task.Name, err)
	}
}

func wait(d time.Duration) *time.Duration { return &d }

// waitJob waits until job id is final.
func waitJob(t testing.TB, c *client.Client, id string, within time.Duration) api.Job {
	t.Helper()
	var j api.Job
	kubetest.WaitFor(t, within, "job "+id+" to end", func() bool {
		var err error
		j, err = c.GetJob(t.Context(), id)
		return err == nil && j.Status != api.JobQueued && j.Status != api.JobRunning
	})
	return j
}

func readLog(t testing.TB, c *client.Client, id string) string {
	t.Helper()
	rc, err := c.Log(t.Context(), id, false)
	if err != nil {
		t.Fatalf("log of %s: %v", id, err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

// TestJobs runs the job contract through a server with the Kubernetes executor: checkout with a token, input,
// secrets as files and env, the ^JSON result, timeout, cancel, and logs kept after the pod is deleted.
func TestJobs(t *testing.T) {
	e := needCluster(t)
	ns := e.Namespace(t)
	s := e.newServer(t, ns, func(c *server.Config) { c.ImageAllowlist = []string{e.Busybox} })
	c := s.client(t)
	e.runner(t, c, e.Busybox)
	e.task(t, c, api.Task{Name: "contract", Command: "sh contract.sh", Synchronous: true, SyncTimeout: api.Duration(2 * time.Minute)})
	e.task(t, c, api.Task{Name: "slow", Command: "echo started; sleep 600", Timeout: api.Duration(3 * time.Second)})
	e.task(t, c, api.Task{Name: "forever", Command: "echo started; sleep 600"})

	t.Run("Contract", func(t *testing.T) {
		t.Parallel()
		j, finished, err := c.Submit(t.Context(), "contract", []byte(`{"n":1}`), client.SubmitOptions{})
		if err != nil || !finished {
			t.Fatalf("sync job: finished %v, %v", finished, err)
		}
		// (Printed without their first letter: runplane masks secret values in what it keeps.)
		want := `{"input":{"n":1},"file":"3cret-value","env":"3cret-value","user":"65532"}`
		if j.Status != api.JobSucceeded || string(j.JSONData) != want {
			t.Errorf("job %s: status %s, json_data %s; want succeeded, %s (reason %q, stdout %q)", j.ID, j.Status, j.JSONData, want, j.Reason, j.Stdout)
		}
		// The secret value is masked in what runplane keeps.
		if log := readLog(t, c, j.ID); !strings.Contains(log, "checked out: hello from git") || strings.Contains(log, "s3cret-value") {
			t.Errorf("log %q: want the checkout's file and no secret value", log)
		}
		// Logs outlive the pod.
		pods, err := e.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "runplane.dev/job=" + j.ID})
		if err != nil || len(pods.Items) != 1 {
			t.Fatalf("pods of job %s: %d, %v; want 1", j.ID, len(pods.Items), err)
		}
		if err := e.Client.CoreV1().Pods(ns).Delete(t.Context(), pods.Items[0].Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		kubetest.WaitFor(t, time.Minute, "the pod to be gone", func() bool {
			p, _ := e.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "runplane.dev/job=" + j.ID})
			return len(p.Items) == 0
		})
		if log := readLog(t, c, j.ID); !strings.Contains(log, "checked out: hello from git") {
			t.Errorf("log after the pod was deleted: %q", log)
		}
	})
	t.Run("Timeout", func(t *testing.T) {
		t.Parallel()
		j, _, err := c.Submit(t.Context(), "slow", nil, client.SubmitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		j = waitJob(t, c, j.ID, 2*time.Minute)
		if j.Status != api.JobFailed || j.Reason != api.ReasonTimeout {
			t.Errorf("job past its timeout: %s, %q; want failed, timeout", j.Status, j.Reason)
		}
	})
	t.Run("Cancel", func(t *testing.T) {
		t.Parallel()
		j, _, err := c.Submit(t.Context(), "forever", nil, client.SubmitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		kubetest.WaitFor(t, 2*time.Minute, "the job to start", func() bool { return strings.Contains(readLog(t, c, j.ID), "started") })
		if _, err := c.Cancel(t.Context(), j.ID); err != nil {
			t.Fatal(err)
		}
		j = waitJob(t, c, j.ID, time.Minute)
		if j.Status != api.JobCancelled {
			t.Errorf("cancelled job: %s, %q", j.Status, j.Reason)
		}
		kubetest.WaitFor(t, time.Minute, "its pod to be gone", func() bool {
			p, _ := e.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "runplane.dev/job=" + j.ID})
			return len(p.Items) == 0
		})
	})
	t.Run("Allowlist", func(t *testing.T) {
		t.Parallel()
		_, err := c.CreateRunner(t.Context(), api.Runner{Name: "evil", Image: "evil.example/miner:1", GitURL: "https://git.example/x.git"})
		var ce *client.Error
		if !errors.As(err, &ce) || ce.StatusCode != 400 || !strings.Contains(ce.Error(), "evil.example/miner:1") {
			t.Errorf("runner with an image outside the allowlist: %v; want 400 naming the image", err)
		}
	})
}

// TestRestart: a job keeps running while its server restarts; the new server re-adopts it (not orphaned) and
// keeps its whole log. Then the allowlist changes: the runner's image is refused at submission with 403.
func TestRestart(t *testing.T) {
	e := needCluster(t)
	ns := e.Namespace(t)
	s := e.newServer(t, ns, nil)
	c := s.client(t)
	e.runner(t, c, e.Busybox)
	e.task(t, c, api.Task{Name: "long", Command: "echo before; sleep 8; echo after; echo '^JSON {\"done\":true} ^JSON'"})
	j, _, err := c.Submit(t.Context(), "long", nil, client.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kubetest.WaitFor(t, 2*time.Minute, "the job to start", func() bool { return strings.Contains(readLog(t, c, j.ID), "before") })
	s.stop()
	s.start(t)
	c = s.client(t)
	j = waitJob(t, c, j.ID, 2*time.Minute)
	if j.Status != api.JobSucceeded || string(j.JSONData) != `{"done":true}` {
		t.Errorf("job across a restart: %s (%q), json_data %s; want succeeded with its result", j.Status, j.Reason, j.JSONData)
	}
	if log := readLog(t, c, j.ID); !strings.HasPrefix(log, "before\nafter\n") {
		t.Errorf("log across a restart: %q", log)
	}

	s.stop()
	s.cfg.ImageAllowlist = []string{"registry.example/**"}
	s.start(t)
	c = s.client(t)
	_, _, err = c.Submit(t.Context(), "long", nil, client.SubmitOptions{})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.StatusCode != 403 || !strings.Contains(ce.Error(), e.Busybox) {
		t.Errorf("job whose runner's image the allowlist no longer allows: %v; want 403 naming the image", err)
	}
}
