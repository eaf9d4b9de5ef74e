package postgres

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

// TestUnavailable: while the database is down, calls fail with store.ErrUnavailable (the API's 503), not a bare
// internal error; once it is back, the same store works again without being reopened.
func TestUnavailable(t *testing.T) {
	srv := pgtest.NewServer(t)
	dsn := srv.CreateDatabase(t)
	s := openAt(t, dsn)
	ctx := t.Context()
	if _, err := s.ListRunners(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Stop(t)
	_, err := s.GetJob(ctx, "any-job")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("GetJob with the database down = %v, want store.ErrUnavailable", err)
	}
	if err != nil && strings.Contains(err.Error(), srv.Password) {
		t.Errorf("error %q contains the password", err)
	}
	now := time.Now()
	_, err = s.ClaimJob(ctx, now, store.Lease{Owner: "a", Until: now.Add(time.Minute)})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("ClaimJob with the database down = %v, want store.ErrUnavailable", err)
	}
	srv.Restart(t)
	if _, err := s.ListRunners(ctx); err != nil {
		t.Errorf("ListRunners after the restart = %v, want the store to reconnect", err)
	}
	// Errors that are not about reaching the database stay what they are.
	if _, err := s.GetJob(ctx, "missing"); !errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("GetJob of a missing job = %v, want only ErrNotFound", err)
	}
}
