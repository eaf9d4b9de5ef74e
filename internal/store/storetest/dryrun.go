package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// dryRun runs fn in s.DryRun; the suite skips where the backend cannot dry-run.
func dryRun(t *testing.T, s store.Store, fn func(v store.Store) error) error {
	t.Helper()
	dr, ok := s.(store.DryRunner)
	if !ok {
		t.Skip("store does not implement store.DryRunner")
	}
	return dr.DryRun(t.Context(), fn)
}

// testDryRun: a dry run's view sees its own writes, one after another (a group created, then a user joining it),
// meets the same errors as real writes (a name taken) and stays usable after one, and nothing of it is stored,
// audit entries included.
func testDryRun(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, "CreateRunner", s.CreateRunner(ctx, runner("kept")))
	pending := store.NewPendingAudit(api.AuditLog{EventType: "create", EventCategory: "runners", Status: api.AuditSuccess})
	actx := store.WithAudit(ctx, pending)
	sentinel := errors.New("handler failed")
	err := dryRun(t, s, func(v store.Store) error {
		if err := v.CreateRunner(actx, runner("new")); err != nil {
			return fmt.Errorf("CreateRunner(new): %w", err)
		}
		if _, err := v.GetRunner(ctx, "new"); err != nil {
			return fmt.Errorf("GetRunner(new) in the view: %w", err)
		}
		if err := v.CreateRunner(ctx, runner("kept")); !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("CreateRunner(kept) in the view = %v, want ErrConflict", err)
		}
		if err := v.CreateTask(ctx, task("t", "new")); err != nil {
			return fmt.Errorf("CreateTask after a conflict: %w", err)
		}
		r := runner("kept")
		r.Image = "changed:1"
		if err := v.UpdateRunner(ctx, r); err != nil {
			return fmt.Errorf("UpdateRunner(kept): %w", err)
		}
		g, err := v.CreateGroup(ctx, group("ops", api.ProviderLocal))
		if err != nil {
			return fmt.Errorf("CreateGroup: %w", err)
		}
		u, err := v.CreateUser(ctx, store.User{User: api.User{Username: "ann", Provider: api.ProviderLocal, Groups: []string{g.ID}}})
		if err != nil {
			return fmt.Errorf("CreateUser in a group the view created: %w", err)
		}
		got, err := v.GetGroup(ctx, g.ID)
		if err != nil || len(got.UserIDs) != 1 || got.UserIDs[0] != u.ID {
			return fmt.Errorf("GetGroup in the view = %v, %v; want user %s in it", got.UserIDs, err, u.ID)
		}
		if real, err := s.GetRunner(ctx, "new"); err == nil {
			return fmt.Errorf("the store outside the view sees %q before the dry run ended", real.Name)
		}
		return sentinel
	})
	if !errors.Is(err, sentinel) {
		t.Fatalf("DryRun = %v, want fn's error", err)
	}
	if _, err := s.GetRunner(ctx, "new"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRunner(new) after the dry run = %v, want ErrNotFound", err)
	}
	if r, err := s.GetRunner(ctx, "kept"); err != nil || r.Image != runner("kept").Image {
		t.Errorf("GetRunner(kept) after the dry run = %+v, %v; want it unchanged", r, err)
	}
	if _, err := s.GetTask(ctx, "t"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetTask(t) after the dry run = %v, want ErrNotFound", err)
	}
	if _, err := s.GetUserByName(ctx, api.ProviderLocal, "ann"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUserByName(ann) after the dry run = %v, want ErrNotFound", err)
	}
	if _, err := s.GetGroupByName(ctx, api.ProviderLocal, "ops"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetGroupByName(ops) after the dry run = %v, want ErrNotFound", err)
	}
	entries, err := s.ListAudit(ctx, 100)
	must(t, "ListAudit", err)
	if len(entries) != 0 {
		t.Errorf("ListAudit after the dry run = %d entries, want none", len(entries))
	}
	// The store writes as before.
	must(t, "CreateRunner(after)", s.CreateRunner(ctx, runner("after")))
}

// testDryRunConcurrent: real writes made while dry runs run are all stored, and the dry runs' none.
func testDryRunConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- s.CreateRunner(ctx, runner(fmt.Sprintf("real-%d", i)))
		}()
		go func() {
			defer wg.Done()
			errs <- dryRun(t, s, func(v store.Store) error {
				return v.CreateRunner(ctx, runner(fmt.Sprintf("dry-%d", i)))
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, "CreateRunner", err)
	}
	all, err := s.ListRunners(ctx)
	must(t, "ListRunners", err)
	if len(all) != n {
		var names []string
		for _, r := range all {
			names = append(names, r.Name)
		}
		t.Errorf("ListRunners = %v, want the %d real runners only", names, n)
	}
}
