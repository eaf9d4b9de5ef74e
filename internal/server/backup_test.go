package server

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// TestBackupUnderLoad: a backup taken while jobs are being submitted holds every job that was accepted before it
// began, and a server started on the backup serves them (and the runner's secrets, which need the keys).
func TestBackupUnderLoad(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.createRunner(t, api.Runner{Name: "repo", GitURL: newRepoURL(t), Secret: map[string]string{"KEY": "s3cr3t"}})
	ts.createTask(t, api.Task{Name: "quick", Runner: "repo", Command: "sh hello.sh"})

	var mu sync.Mutex
	var accepted []string // in the order they were answered
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := ts.doNoFatal(req{method: "POST", path: "/api/v1/jobs/quick?wait=0", body: `{"n":1}`})
				if r == nil || r.status != 200 {
					continue
				}
				id := created(t, r)
				mu.Lock()
				accepted = append(accepted, id)
				mu.Unlock()
			}
		})
	}
	// Let some load build up, then back up in the middle of it.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(accepted)
		mu.Unlock()
		if n >= 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no load")
		}
	}
	mu.Lock()
	before := append([]string(nil), accepted...)
	mu.Unlock()
	dir := filepath.Join(t.TempDir(), "backup")
	cfg := DefaultConfig()
	cfg.DataDir = ts.cfg.DataDir
	wrote, err := Backup(t.Context(), cfg, dir)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(wrote) != 3 {
		t.Errorf("Backup wrote %v, want the database and two keys", wrote)
	}
	if _, err := Backup(t.Context(), cfg, dir); err == nil {
		t.Error("a second backup into the same directory succeeded")
	}

	restored := DefaultConfig()
	restored.Listen, restored.DataDir = "127.0.0.1:0", dir
	s, err := Open(t.Context(), restored, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done; s.Close() }()
	rs := &testServer{Server: s, url: s.URL(), logs: &syncBuffer{}, console: &syncBuffer{}, seen: &syncBuffer{}}
	rs.token = rs.login(t, "root", rootPassword)
	for _, id := range before {
		var j api.Job
		rs.do(t, req{method: "GET", path: "/api/v1/jobs/" + id}).want(t, 200).decode(t, &j)
		if j.Task != "quick" || string(j.Input) != `{"n":1}` {
			t.Errorf("restored job %s = %+v", id, j)
		}
	}
	var r api.Runner
	rs.do(t, req{method: "GET", path: "/api/v1/runners/repo"}).want(t, 200).decode(t, &r)
	if r.Secret["KEY"] != api.Mask {
		t.Errorf("restored runner = %+v, want its secret (masked)", r)
	}
	// The secret opens: a job of the restored server sees it.
	rs.createTask(t, api.Task{Name: "show", Runner: "repo", Command: `test "$KEY" = s3cr3t`, Synchronous: true})
	if j := finished(t, rs.submit(t, "/api/v1/jobs/show", "", nil)); j.Status != api.JobSucceeded {
		t.Errorf("job on the restored server = %+v, want its secret to open", j)
	}
	t.Logf("%d jobs accepted before the backup, all restored", len(before))
}
