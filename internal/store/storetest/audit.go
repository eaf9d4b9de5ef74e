package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// auditID returns a fixed UUID ending in n, so that ids sort as n does.
func auditID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// entry returns an audit entry with id auditID(id), created at(n).
func entry(id, n int) api.AuditLog {
	return api.AuditLog{ID: auditID(id), UserID: "u-1", Username: "ann", Provider: api.ProviderLocal,
		EventType: "update", EventCategory: api.ResourceRunners, EventTarget: fmt.Sprintf("runner-%d", id),
		Status: api.AuditSuccess, Source: "203.0.113.7", CreateTime: at(n)}
}

func testAuditRoundTrip(t *testing.T, s store.Store) {
	denied := entry(1, 0)
	denied.EventType, denied.EventCategory, denied.EventTarget = "login", "auth", "ann"
	denied.Status, denied.Reason = api.AuditDenied, "wrong password"
	anonymous := api.AuditLog{ID: auditID(2), EventType: "login", EventCategory: "auth", Status: api.AuditFailure,
		Source: "198.51.100.1", CreateTime: at(1)}
	must(t, "AppendAudit", s.AppendAudit(t.Context(), denied, anonymous, entry(3, 2)))
	tests := []struct {
		name string
		want api.AuditLog
	}{
		{"denied login with a reason", denied},
		{"no user", anonymous},
		{"update", entry(3, 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.GetAudit(t.Context(), tt.want.ID)
			must(t, "GetAudit", err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("GetAudit(%q) mismatch (-want +got):\n%s", tt.want.ID, diff)
			}
		})
	}
	t.Run("empty id and time are filled", func(t *testing.T) {
		e := entry(0, 0)
		e.ID, e.CreateTime = "", time.Time{}
		must(t, "AppendAudit", s.AppendAudit(t.Context(), e))
		list, err := s.ListAudit(t.Context(), 0)
		must(t, "ListAudit", err)
		var got *api.AuditLog
		for i := range list {
			if list[i].EventTarget == e.EventTarget {
				got = &list[i]
			}
		}
		if got == nil {
			t.Fatalf("ListAudit(0) lacks the entry appended without id")
		}
		if got.ID == "" || got.CreateTime.IsZero() {
			t.Errorf("entry appended without id and time = id %q, created %v; want both set", got.ID, got.CreateTime)
		}
	})
	_, err := s.GetAudit(t.Context(), auditID(99))
	checkErr(t, fmt.Sprintf("GetAudit(%q)", auditID(99)), err, store.ErrNotFound,
		fmt.Sprintf("audit entry %q not found", auditID(99)))
}

func testAuditList(t *testing.T, s store.Store) {
	empty, err := s.ListAudit(t.Context(), 0)
	must(t, "ListAudit", err)
	if empty == nil || len(empty) != 0 {
		t.Errorf("ListAudit(0) of an empty store = %#v, want an empty list", empty)
	}
	must(t, "AppendAudit", s.AppendAudit(t.Context(), entry(2, 1), entry(1, 3)))
	must(t, "AppendAudit", s.AppendAudit(t.Context(), entry(3, 2)))
	must(t, "AppendAudit", s.AppendAudit(t.Context(), entry(4, 3), entry(5, 0)))
	// Newest first; entries 1 and 4 tie on time and come by id, the greater first.
	all := []api.AuditLog{entry(4, 3), entry(1, 3), entry(3, 2), entry(2, 1), entry(5, 0)}
	tests := []struct {
		name string
		max  int
		want []api.AuditLog
	}{
		{"no limit", 0, all},
		{"negative is no limit", -1, all},
		{"newest two", 2, all[:2]},
		{"newest three", 3, all[:3]},
		{"more than there are", 10, all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListAudit(t.Context(), tt.max)
			must(t, "ListAudit", err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ListAudit(%d) (-want +got):\n%s", tt.max, diff)
			}
		})
	}
}

func testAuditAppendAtomic(t *testing.T, s store.Store) {
	must(t, "AppendAudit", s.AppendAudit(t.Context(), entry(1, 0)))
	must(t, "AppendAudit of nothing", s.AppendAudit(t.Context()))
	if err := s.AppendAudit(t.Context(), entry(2, 1), entry(1, 2)); err == nil {
		t.Fatalf("AppendAudit with a taken id succeeded, want an error")
	}
	_, err := s.GetAudit(t.Context(), auditID(2))
	checkErr(t, "GetAudit of an entry appended with a refused one", err, store.ErrNotFound, "")
	got, err := s.ListAudit(t.Context(), 0)
	must(t, "ListAudit", err)
	if diff := cmp.Diff([]api.AuditLog{entry(1, 0)}, got); diff != "" {
		t.Errorf("ListAudit(0) after a refused append (-want +got):\n%s", diff)
	}
}
