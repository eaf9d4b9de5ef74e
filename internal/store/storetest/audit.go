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

func testAuditFind(t *testing.T, s store.Store) {
	empty, total, err := s.FindAudit(t.Context(), store.AuditFilter{})
	must(t, "FindAudit", err)
	if empty == nil || len(empty) != 0 || total != 0 {
		t.Errorf("FindAudit() of an empty store = %#v, total %d; want an empty list", empty, total)
	}
	// Twelve entries, entry n created at(n): ann (u-1) acts on even n, bob (u-2) on odd n; every third is a
	// login, which fails when n is a multiple of 6; entries 10 and 11 name runner-x.
	var all []api.AuditLog // newest first
	var batch []api.AuditLog
	for n := 11; n >= 0; n-- {
		e := entry(n, n)
		if n%2 == 1 {
			e.UserID, e.Username = "u-2", "bob"
		}
		if n%3 == 0 {
			e.EventType, e.EventCategory, e.EventTarget = "login", "auth", e.Username
			if n%6 == 0 {
				e.Status = api.AuditFailure
			}
		}
		if n >= 10 {
			e.EventTarget = "runner-x"
		}
		all = append(all, e)
		batch = append(batch, e)
		if len(batch) == 5 {
			must(t, "AppendAudit", s.AppendAudit(t.Context(), batch...))
			batch = nil
		}
	}
	must(t, "AppendAudit", s.AppendAudit(t.Context(), batch...))
	pick := func(keep func(api.AuditLog) bool) []api.AuditLog {
		var out []api.AuditLog
		for _, e := range all {
			if keep(e) {
				out = append(out, e)
			}
		}
		return out
	}
	n := func(e api.AuditLog) int { return int(e.CreateTime.Sub(at(0)) / time.Second) }
	tests := []struct {
		name      string
		f         store.AuditFilter
		want      []api.AuditLog
		wantTotal int
	}{
		{"all", store.AuditFilter{}, all, 12},
		{"first page", store.AuditFilter{Limit: 5}, all[:5], 12},
		{"second page", store.AuditFilter{Limit: 5, Offset: 5}, all[5:10], 12},
		{"last page", store.AuditFilter{Limit: 5, Offset: 10}, all[10:], 12},
		{"offset past the end", store.AuditFilter{Limit: 5, Offset: 12}, nil, 12},
		{"negative limit and offset", store.AuditFilter{Limit: -1, Offset: -3}, all, 12},
		{"user by name", store.AuditFilter{User: "bob"}, pick(func(e api.AuditLog) bool { return e.Username == "bob" }), 6},
		{"user by id", store.AuditFilter{User: "u-1"}, pick(func(e api.AuditLog) bool { return e.UserID == "u-1" }), 6},
		{"unknown user", store.AuditFilter{User: "carol"}, nil, 0},
		{"event type", store.AuditFilter{EventType: "login"}, pick(func(e api.AuditLog) bool { return e.EventType == "login" }), 4},
		{"event target", store.AuditFilter{EventTarget: "runner-x"}, all[:2], 2},
		{"category", store.AuditFilter{Category: "auth"}, pick(func(e api.AuditLog) bool { return e.EventCategory == "auth" }), 4},
		{"status", store.AuditFilter{Status: api.AuditFailure}, pick(func(e api.AuditLog) bool { return e.Status == api.AuditFailure }), 2},
		{"since is inclusive", store.AuditFilter{Since: at(8)}, all[:4], 4},
		{"until is exclusive", store.AuditFilter{Until: at(2)}, all[10:], 2},
		{"since and until paged", store.AuditFilter{Since: at(2), Until: at(9), Limit: 3, Offset: 1}, all[4:7], 7},
		{"until in the far future", store.AuditFilter{Until: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)}, all, 12},
		{"user, type and time", store.AuditFilter{User: "ann", EventType: "update", Since: at(3)},
			pick(func(e api.AuditLog) bool { return e.Username == "ann" && e.EventType == "update" && n(e) >= 3 }), 3},
		{"ids", store.AuditFilter{IDs: []string{auditID(3), auditID(7), auditID(99)}}, []api.AuditLog{all[4], all[8]}, 2},
		{"ids empty: none", store.AuditFilter{IDs: []string{}}, nil, 0},
		{"ids and user", store.AuditFilter{IDs: []string{auditID(3), auditID(4)}, User: "bob"}, []api.AuditLog{all[8]}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := s.FindAudit(t.Context(), tt.f)
			must(t, "FindAudit", err)
			if got == nil {
				t.Errorf("FindAudit(%+v) = nil, want a list", tt.f)
			}
			if diff := cmp.Diff(tt.want, got, opts); diff != "" {
				t.Errorf("FindAudit(%+v) (-want +got):\n%s", tt.f, diff)
			}
			if total != tt.wantTotal {
				t.Errorf("FindAudit(%+v) total = %d, want %d", tt.f, total, tt.wantTotal)
			}
		})
	}
}

func testAuditPrune(t *testing.T, s store.Store) {
	n, err := s.PruneAudit(t.Context(), at(100))
	must(t, "PruneAudit", err)
	if n != 0 {
		t.Errorf("PruneAudit of an empty store = %d, want 0", n)
	}
	var es []api.AuditLog
	for i := range 10 {
		es = append(es, entry(i, i))
	}
	must(t, "AppendAudit", s.AppendAudit(t.Context(), es...))
	n, err = s.PruneAudit(t.Context(), at(4))
	must(t, "PruneAudit", err)
	if n != 4 {
		t.Errorf("PruneAudit(at(4)) = %d, want 4 (entries 0-3)", n)
	}
	got, total, err := s.FindAudit(t.Context(), store.AuditFilter{})
	must(t, "FindAudit", err)
	want := []api.AuditLog{es[9], es[8], es[7], es[6], es[5], es[4]}
	if diff := cmp.Diff(want, got, opts); diff != "" || total != 6 {
		t.Errorf("FindAudit after PruneAudit(at(4)) = total %d, (-want +got):\n%s", total, diff)
	}
	n, err = s.PruneAudit(t.Context(), at(4))
	must(t, "PruneAudit", err)
	if n != 0 {
		t.Errorf("PruneAudit(at(4)) again = %d, want 0", n)
	}

	// More than one batch: every old entry goes, every newer one stays.
	const old = 12_000
	es = es[:0]
	for i := range old {
		e := entry(1000+i, -1000)
		es = append(es, e)
		if len(es) == 2000 {
			must(t, "AppendAudit", s.AppendAudit(t.Context(), es...))
			es = es[:0]
		}
	}
	n, err = s.PruneAudit(t.Context(), at(-999))
	must(t, "PruneAudit", err)
	if n != old {
		t.Errorf("PruneAudit of %d old entries = %d", old, n)
	}
	if _, total, err = s.FindAudit(t.Context(), store.AuditFilter{}); err != nil || total != 6 {
		t.Errorf("FindAudit after pruning the old entries = total %d, %v; want the 6 newer entries", total, err)
	}
}
