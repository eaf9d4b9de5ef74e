package audit_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/audit"
	"github.com/runplane/runplane/internal/store"
)

// TestRunRetention: entries older than the retention are deleted at once, newer ones stay, and the pass logs how
// many it deleted.
func TestRunRetention(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	var es []api.AuditLog
	for i := range 10 {
		e := entry("e")
		e.CreateTime = now.Add(-time.Duration(i) * 24 * time.Hour) // 0 to 9 days old
		es = append(es, e)
	}
	if err := st.AppendAudit(t.Context(), es...); err != nil {
		t.Fatal(err)
	}
	sink := newLogSink()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- audit.RunRetention(ctx, st, 72*time.Hour, time.Hour, func() time.Time { return now }, slog.New(sink))
	}()
	rec := sink.waitFor(t, "pruned audit entries")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunRetention = %v, want nil", err)
	}
	got, total, err := st.FindAudit(t.Context(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if total != 4 {
		t.Fatalf("after retention of 72h: %d entries, want 4 (0 to 3 days old)", total)
	}
	for _, e := range got {
		if e.CreateTime.Before(now.Add(-72 * time.Hour)) {
			t.Errorf("entry created %v survived a retention of 72h at %v", e.CreateTime, now)
		}
	}
	if c := attr(rec, "count"); c.Int64() != 6 {
		t.Errorf("logged count = %v, want 6", c)
	}
}

// TestRunRetentionKeep: a retention of 0 deletes nothing and returns when ctx ends.
func TestRunRetentionKeep(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	old := entry("old")
	old.CreateTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.AppendAudit(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := audit.RunRetention(ctx, st, 0, time.Hour, nil, nil); err != nil {
		t.Fatalf("RunRetention = %v, want nil", err)
	}
	if n, err := st.PruneAudit(t.Context(), time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil || n != 0 {
		t.Fatalf("PruneAudit before 1999 = %d, %v", n, err)
	}
	if got := list(t, st); len(got) != 1 {
		t.Errorf("after RunRetention with keep 0: %d entries, want the 1 old one", len(got))
	}
}

type failingPruner struct{}

func (failingPruner) PruneAudit(context.Context, time.Time) (int, error) {
	return 0, errors.New("disk on fire")
}

// TestRunRetentionFailure: a failed pass is logged and does not end the loop.
func TestRunRetentionFailure(t *testing.T) {
	t.Parallel()
	sink := newLogSink()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- audit.RunRetention(ctx, failingPruner{}, time.Hour, time.Hour, nil, slog.New(sink)) }()
	sink.waitFor(t, "prune audit entries")
	select {
	case err := <-done:
		t.Fatalf("RunRetention returned %v after a failed pass, want it to go on", err)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunRetention = %v, want nil", err)
	}
}
