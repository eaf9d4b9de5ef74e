package jobs_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/jobs"
)

// recorder is a slog.Handler that keeps every record's message and attributes, and tells waiters of each new one.
type recorder struct {
	mu      sync.Mutex
	records []map[string]slog.Value
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	m := map[string]slog.Value{"msg": slog.StringValue(rec.Message)}
	rec.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.Resolve(); return true })
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, m)
	close(r.changed)
	r.changed = make(chan struct{})
	return nil
}

// wait returns the first record with message msg about job id, waiting up to 10s for it; nil if none came.
func (r *recorder) wait(t *testing.T, msg, id string) map[string]slog.Value {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		for _, m := range r.records {
			if m["msg"].String() == msg && m["job"].String() == id {
				r.mu.Unlock()
				return m
			}
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			return nil
		}
	}
}

// TestJobStartAndEndLogged checks the engine's log line for the start of each job's attempt and for its end, with
// who ran what, how it ended and how long it took, as a duration.
func TestJobStartAndEndLogged(t *testing.T) {
	rec := newRecorder()
	e := newEnv(t, jobs.Options{Logger: slog.New(rec)}, nil)
	e.task(t, api.Task{Name: "ok", Command: "./hello.sh"})
	e.task(t, api.Task{Name: "bad", Command: "exit 3"})
	e.task(t, api.Task{Name: "never", Command: "./hello.sh"})

	// Cancelled while queued (the engine is not running yet): it ends without starting.
	queued, err := e.eng.Submit(t.Context(), jobs.Request{Task: "never", Owner: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.Cancel(t.Context(), queued.ID); err != nil {
		t.Fatal(err)
	}
	e.start(t)

	tests := []struct {
		name, task string
		id         string // set for the job submitted above
		wantStart  bool
		want       map[string]any // attributes of "job ended"
		noDuration bool
	}{
		{name: "succeeded", task: "ok", wantStart: true,
			want: map[string]any{"task": "ok", "owner": "alice", "status": "succeeded", "exit_code": int64(0)}},
		{name: "failed", task: "bad", wantStart: true,
			want: map[string]any{"task": "bad", "owner": "alice", "status": "failed", "exit_code": int64(3), "reason": "exit code 3"}},
		{name: "cancelled while queued", task: "never", id: queued.ID, noDuration: true,
			want: map[string]any{"task": "never", "owner": "carol", "status": "cancelled", "reason": "cancelled"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.id
			if id == "" {
				id = e.run(t, tt.task, "").ID
			}
			ended := rec.wait(t, "job ended", id)
			if ended == nil {
				t.Fatalf("no \"job ended\" log line for %s", id)
			}
			for k, want := range tt.want {
				if got := ended[k].Any(); got != want {
					t.Errorf("job ended: %s = %v (%T), want %v", k, got, got, want)
				}
			}
			d, ok := ended["duration"]
			switch {
			case tt.noDuration && ok:
				t.Errorf("job ended: duration %v for a job that never started", d)
			case !tt.noDuration && (!ok || d.Kind() != slog.KindDuration || d.Duration() <= 0):
				t.Errorf("job ended: duration = %v, want a positive time.Duration", d)
			}
			if !tt.wantStart {
				rec.mu.Lock()
				defer rec.mu.Unlock()
				for _, m := range rec.records {
					if m["msg"].String() == "job started" && m["job"].String() == id {
						t.Errorf("\"job started\" logged for %s, which never started", id)
					}
				}
				return
			}
			started := rec.wait(t, "job started", id)
			if started == nil {
				t.Fatalf("no \"job started\" log line for %s", id)
			}
			if started["task"].String() != tt.task || started["owner"].String() != "alice" || started["runner"].String() != "r" {
				t.Errorf("job started: %v, want task %s, owner alice, runner r", started, tt.task)
			}
			if q := started["queued"]; q.Kind() != slog.KindDuration || q.Duration() < 0 {
				t.Errorf("job started: queued = %v, want a time.Duration", q)
			}
		})
	}
}
