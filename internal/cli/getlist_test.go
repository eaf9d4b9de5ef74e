package cli_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

// TestGetListFilters: get jobs and get audit filter on the server, alone and combined, and --all pages through
// every audit entry for an export.
func TestGetListFilters(t *testing.T) {
	h := newHarness(t, true)
	h.ok("", "apply", "-f", h.manifests())
	var hello []string
	for range 2 {
		hello = append([]string{unmarshal[api.Job](t, h.ok("", "run", "hello", "-o", "json")).ID}, hello...)
	}
	failed := unmarshal[api.Job](t, h.run("", "run", "fail", "-o", "json").stdout).ID
	all := append([]string{failed}, hello...) // newest first

	jobIDs := func(out string) []string {
		ids := []string{}
		for _, j := range unmarshal[[]api.Job](t, out) {
			ids = append(ids, j.ID)
		}
		return ids
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	jobTests := []struct {
		name string
		args []string
		want []string
	}{
		{"task", []string{"--task", "hello"}, hello},
		{"status", []string{"--status", "failed"}, []string{failed}},
		{"statuses comma separated", []string{"--status", "succeeded,failed"}, all},
		{"statuses repeated", []string{"--status", "succeeded", "--status", "cancelled"}, hello},
		{"owner", []string{"--owner", "root"}, all},
		{"unknown owner", []string{"--owner", "nobody"}, []string{}},
		{"since a duration", []string{"--since", "1h"}, all},
		{"until a duration", []string{"--until", "1h"}, []string{}},
		{"since a time to come", []string{"--since", future}, []string{}},
		{"every filter", []string{"--task", "hello", "--status", "succeeded", "--owner", "root", "--since", "1d", "--until", future, "--limit", "1", "--offset", "1"}, hello[1:]},
		{"all pages", []string{"--all", "--limit", "1"}, all},
	}
	for _, tt := range jobTests {
		t.Run("jobs "+tt.name, func(t *testing.T) {
			h := h.with(t)
			args := append([]string{"get", "jobs", "-o", "json"}, tt.args...)
			if diff := cmp.Diff(tt.want, jobIDs(h.ok("", args...))); diff != "" {
				t.Errorf("runplane %s (-want +got):\n%s", strings.Join(args, " "), diff)
			}
		})
	}

	t.Run("audit export", func(t *testing.T) {
		h := h.with(t)
		before := unmarshal[[]api.AuditLog](t, h.ok("", "get", "audit", "--limit", "1000", "-o", "json"))
		export := unmarshal[[]api.AuditLog](t, h.ok("", "get", "audit", "--all", "--limit", "3", "-o", "json"))
		after := unmarshal[[]api.AuditLog](t, h.ok("", "get", "audit", "--limit", "1000", "-o", "json"))
		if diff := cmp.Diff(before, after); diff != "" {
			t.Fatalf("the audit log changed while the test read it (-before +after):\n%s", diff)
		}
		if len(before) < 7 {
			t.Fatalf("get audit = %d entries, want at least 7 (a login, 5 creates, 3 runs)", len(before))
		}
		if diff := cmp.Diff(before, export); diff != "" {
			t.Errorf("get audit --all --limit 3 differs from one large page (-page +export):\n%s", diff)
		}
	})

	auditTests := []struct {
		name string
		args []string
		keep func(api.AuditLog) bool
	}{
		{"event type", []string{"--event-type", "run"}, func(e api.AuditLog) bool { return e.EventType == "run" }},
		{"user and category", []string{"--user", "root", "--category", "tasks"}, func(e api.AuditLog) bool {
			return e.Username == "root" && e.EventCategory == "tasks"
		}},
		{"target", []string{"--target", "hello"}, func(e api.AuditLog) bool { return e.EventTarget == "hello" }},
		{"status", []string{"--status", "success", "--since", "1h"}, func(e api.AuditLog) bool { return e.Status == api.AuditSuccess }},
		{"until", []string{"--until", "2000-01-01"}, func(api.AuditLog) bool { return false }},
	}
	every := unmarshal[[]api.AuditLog](t, h.ok("", "get", "auditlogs", "--all", "-o", "json"))
	for _, tt := range auditTests {
		t.Run("audit "+tt.name, func(t *testing.T) {
			h := h.with(t)
			args := append([]string{"get", "audit", "-o", "json"}, tt.args...)
			got := unmarshal[[]api.AuditLog](t, h.ok("", args...))
			want := slices.DeleteFunc(slices.Clone(every), func(e api.AuditLog) bool { return !tt.keep(e) })
			if want == nil {
				want = []api.AuditLog{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("runplane %s (-want +got):\n%s", strings.Join(args, " "), diff)
			}
		})
	}
	runs := unmarshal[[]api.AuditLog](t, h.ok("", "get", "audit", "--event-type", "run", "-o", "json"))
	if len(runs) != 3 {
		t.Errorf("get audit --event-type run = %d entries, want the 3 runs", len(runs))
	}

	t.Run("a page says there is more", func(t *testing.T) {
		r := h.with(t).run("", "get", "audit", "--limit", "2")
		if r.code != 0 || !strings.Contains(r.stderr, "showing 2 of ") {
			t.Errorf("get audit --limit 2: exit %d, stderr %q; want a note that there is more", r.code, r.stderr)
		}
	})

	errs := []struct {
		name string
		args []string
		want string
	}{
		{"bad since", []string{"get", "jobs", "--since", "yesterday"}, "--since \"yesterday\": want an RFC 3339 time"},
		{"bad status", []string{"get", "jobs", "--status", "done"}, "query parameter status: unknown status \"done\""},
		{"audit filter on jobs", []string{"get", "jobs", "--user", "root"}, "--user does not apply to jobs"},
		{"job filter on audit", []string{"get", "audit", "--task", "hello"}, "--task does not apply to auditlogs"},
		{"filter on runners", []string{"get", "runners", "--since", "1h"}, "--since does not apply to runners"},
		{"filter with a name", []string{"get", "job", hello[0], "--status", "failed"}, "--status filters a list: give no name"},
		{"two audit statuses", []string{"get", "audit", "--status", "success,denied"}, "--status: give one status"},
		{"bad audit status", []string{"get", "audit", "--status", "ok"}, "query parameter status: unknown status \"ok\""},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.with(t).fail("", tt.args...); !strings.Contains(got, tt.want) {
				t.Errorf("%v: stderr %q, want it to contain %q", tt.args, got, tt.want)
			}
		})
	}
}
