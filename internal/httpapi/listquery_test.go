package httpapi

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

var queryNow = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func TestJobQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, query string
		want        store.JobFilter
		wantErr     string // part of the 400's message
	}{
		{"none", "", store.JobFilter{}, ""},
		{"task and owner", "task=hello&owner=ann", store.JobFilter{Task: "hello", Owner: "ann"}, ""},
		{"run", "run=fan-ab12c", store.JobFilter{Run: "fan-ab12c"}, ""},
		{"empty values are no filter", "task=&owner=&status=&since=&until=", store.JobFilter{}, ""},
		{"status comma separated", "status=queued,%20running", store.JobFilter{Status: []api.JobStatus{api.JobQueued, api.JobRunning}}, ""},
		{"status repeated, duplicates dropped", "status=failed&status=succeeded,failed",
			store.JobFilter{Status: []api.JobStatus{api.JobFailed, api.JobSucceeded}}, ""},
		{"since a duration", "since=24h", store.JobFilter{Since: queryNow.Add(-24 * time.Hour)}, ""},
		{"since and until times", "since=2026-12-01T00:00:00Z&until=2026-12-02",
			store.JobFilter{Since: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)}, ""},
		{"until the year-1 instant bounds everything out", "until=0001-01-01T00:00:00Z", store.JobFilter{Until: time.Time{}.Add(1)}, ""},
		{"unknown status", "status=queued,done", store.JobFilter{}, `query parameter status: unknown status "done"`},
		{"bad since", "since=yesterday", store.JobFilter{}, `query parameter since: "yesterday"`},
		{"negative until", "until=-1h", store.JobFilter{}, `query parameter until:`},
		{"task twice", "task=a&task=b", store.JobFilter{}, "query parameter task: given 2 times"},
		{"owner twice", "owner=a&owner=a", store.JobFilter{}, "query parameter owner: given 2 times"},
		{"run twice", "run=a&run=b", store.JobFilter{}, "query parameter run: given 2 times"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := jobQuery(q, queryNow)
			checkQueryErr(t, "jobQuery", tt.query, err, tt.wantErr)
			if tt.wantErr == "" {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("jobQuery(%q) (-want +got):\n%s", tt.query, diff)
				}
			}
		})
	}
}

func TestAuditQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, query string
		want        store.AuditFilter
		wantErr     string
	}{
		{"none", "", store.AuditFilter{}, ""},
		{"every filter", "user=ann&event_type=login&event_category=auth&event_target=ann&status=denied&since=7d&until=1h",
			store.AuditFilter{User: "ann", EventType: "login", Category: "auth", EventTarget: "ann", Status: api.AuditDenied,
				Since: queryNow.Add(-7 * 24 * time.Hour), Until: queryNow.Add(-time.Hour)}, ""},
		{"unknown status", "status=ok", store.AuditFilter{}, `query parameter status: unknown status "ok"`},
		{"bad until", "until=2026-12-32", store.AuditFilter{}, "query parameter until:"},
		{"user twice", "user=a&user=b", store.AuditFilter{}, "query parameter user: given 2 times"},
		{"since twice", "since=1h&since=2h", store.AuditFilter{}, "query parameter since: given 2 times"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := auditQuery(q, queryNow)
			checkQueryErr(t, "auditQuery", tt.query, err, tt.wantErr)
			if tt.wantErr == "" {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("auditQuery(%q) (-want +got):\n%s", tt.query, diff)
				}
			}
		})
	}
}

func checkQueryErr(t *testing.T, fn, query string, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Errorf("%s(%q) error = %v, want none", fn, query, err)
		}
		return
	}
	var inv *api.InvalidError
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), want) {
		t.Errorf("%s(%q) error = %v, want a 400 containing %q", fn, query, err, want)
	}
}

// FuzzListQuery: the list filters never panic, refuse only with a 400 that names a parameter, and accept only
// known statuses, each once, and time bounds no later than now when given as durations.
func FuzzListQuery(f *testing.F) {
	for _, s := range []string{"", "status=queued,running&status=failed", "since=24h&until=1h", "since=7d&task=a",
		"until=2026-12-01T00:00:00Z&owner=ann", "status=%00", "since=-1h", "user=a&user=b", "since=1d12h&status=denied",
		"event_type=login&event_target=x&event_category=auth", "since=99999999999999999999d", "status=,,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		check := func(fn string, err error) {
			if err == nil {
				return
			}
			var inv *api.InvalidError
			if !errors.As(err, &inv) || !strings.HasPrefix(inv.Msg, "query parameter ") {
				t.Fatalf("%s(%q) error = %v (%T), want a 400 naming the parameter", fn, raw, err, err)
			}
		}
		jf, err := jobQuery(q, queryNow)
		check("jobQuery", err)
		if err == nil {
			seen := map[api.JobStatus]bool{}
			for _, s := range jf.Status {
				switch s {
				case api.JobQueued, api.JobRunning, api.JobSucceeded, api.JobFailed, api.JobCancelled:
				default:
					t.Fatalf("jobQuery(%q) accepted status %q", raw, s)
				}
				if seen[s] {
					t.Fatalf("jobQuery(%q) status %q twice", raw, s)
				}
				seen[s] = true
			}
		}
		af, err := auditQuery(q, queryNow)
		check("auditQuery", err)
		if err == nil {
			switch af.Status {
			case "", api.AuditSuccess, api.AuditFailure, api.AuditDenied:
			default:
				t.Fatalf("auditQuery(%q) accepted status %q", raw, af.Status)
			}
			for _, name := range []string{"since", "until"} {
				v := q.Get(name)
				b := af.Since
				if name == "until" {
					b = af.Until
				}
				if _, derr := parseDurationOnly(v); derr == nil && b.After(queryNow) {
					t.Fatalf("auditQuery(%q) %s = %v, after now", raw, name, b)
				}
			}
		}
	})
}

// parseDurationOnly reports whether s is read as a duration before now (not a time or a date).
func parseDurationOnly(s string) (time.Time, error) {
	if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return time.Time{}, errors.New("a time")
	}
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		return time.Time{}, errors.New("a date")
	}
	return api.ParseTimeBound(s, queryNow)
}
