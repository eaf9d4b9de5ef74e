package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

// seedAudit appends n entries straight into the store: entry i by ann (even i) or bob, an update of runner-(i%10)
// or (every seventh) a denied login, created i minutes after listBase. It returns their ids newest first.
func seedAudit(t *testing.T, ts *testServer, n int) []string {
	t.Helper()
	var es []api.AuditLog
	var ids []string
	for i := range n {
		user := map[bool]string{true: "ann", false: "bob"}[i%2 == 0]
		e := api.AuditLog{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), UserID: "id-" + user, Username: user,
			Provider: api.ProviderLocal, EventType: "update", EventCategory: api.ResourceRunners,
			EventTarget: fmt.Sprintf("runner-%d", i%10), Status: api.AuditSuccess, Source: "192.0.2.1",
			CreateTime: listBase.Add(time.Duration(i) * time.Minute)}
		if i%7 == 0 {
			e.EventType, e.EventCategory, e.EventTarget, e.Status = "login", "auth", user, api.AuditDenied
		}
		es = append(es, e)
		ids = append([]string{e.ID}, ids...)
	}
	if err := ts.Server.store.AppendAudit(t.Context(), es...); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	return ids
}

// auditPage gets one page of the audit log and its Content-Range total.
func (ts *testServer) auditPage(t *testing.T, query, as string) ([]api.AuditLog, int, *resp) {
	t.Helper()
	res := ts.do(t, req{method: "GET", path: "/api/v1/audit_logs" + query, as: as}).want(t, http.StatusOK)
	var es []api.AuditLog
	res.decode(t, &es)
	return es, rangeTotal(t, res), res
}

func auditIDs(es []api.AuditLog) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// TestAuditListPaging: ?limit and ?offset page through every entry of the audit log, more than one page of them,
// newest first, with the true total in Content-Range; Kriten's ?max=N is still the newest N.
func TestAuditListPaging(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	seeded := seedAudit(t, ts, 250)
	ts.flushAudit(t) // root's login and anything else queued is in the store before paging starts

	var all []api.AuditLog
	total := -1
	for offset := 0; ; offset += 100 {
		page, n, _ := ts.auditPage(t, fmt.Sprintf("?limit=100&offset=%d", offset), "")
		if total >= 0 && n != total {
			t.Fatalf("Content-Range total changed from %d to %d while paging", total, n)
		}
		total = n
		all = append(all, page...)
		if len(page) < 100 {
			break
		}
		if offset > 1000 {
			t.Fatalf("still paging at offset %d with %d entries seeded: the pages never end (offset ignored?)", offset, len(seeded))
		}
	}
	if len(all) != total || total < 250 {
		t.Fatalf("paging with limit=100 got %d entries, Content-Range total %d; want every entry, at least 250", len(all), total)
	}
	seen := map[string]bool{}
	for i, e := range all {
		if seen[e.ID] {
			t.Errorf("entry %s listed twice", e.ID)
		}
		seen[e.ID] = true
		if i > 0 && e.CreateTime.After(all[i-1].CreateTime) {
			t.Errorf("entry %d (%v) is newer than entry %d (%v): want newest first", i, e.CreateTime, i-1, all[i-1].CreateTime)
		}
	}
	// The seeded entries are the oldest: the last 250 of the log.
	if diff := cmp.Diff(seeded, auditIDs(all[len(all)-250:])); diff != "" {
		t.Errorf("the oldest 250 entries paged (-seeded +got):\n%s", diff)
	}

	tests := []struct {
		name, query string
		want        []string
		wantRange   string
	}{
		{"max", "?max=3", auditIDs(all[:3]), fmt.Sprintf("audit_logs 0-2/%d", total)},
		{"max with an offset", "?max=2&offset=2", auditIDs(all[2:4]), fmt.Sprintf("audit_logs 2-3/%d", total)},
		{"default page of 100", "", auditIDs(all[:100]), fmt.Sprintf("audit_logs 0-99/%d", total)},
		{"limit 0 is the largest page", "?limit=0", auditIDs(all), fmt.Sprintf("audit_logs 0-%d/%d", total-1, total)},
		{"offset past the end", fmt.Sprintf("?offset=%d", total), []string{}, fmt.Sprintf("audit_logs */%d", total)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			es, _, res := ts.auditPage(t, tt.query, "")
			if diff := cmp.Diff(tt.want, auditIDs(es)); diff != "" {
				t.Errorf("GET /audit_logs%s (-want +got):\n%s", tt.query, diff)
			}
			if cr := res.header.Get("Content-Range"); cr != tt.wantRange {
				t.Errorf("GET /audit_logs%s Content-Range = %q, want %q", tt.query, cr, tt.wantRange)
			}
		})
	}
}

// TestAuditListFilters: the audit log filters by user (name or id), event type, category, target, status and
// time, alone and combined, with the total of the filtered set; a caller granted only some entries sees only
// those; bad values answer 400 naming the parameter.
func TestAuditListFilters(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ids := seedAudit(t, ts, 250) // ids[k] is entry 249-k
	some := makePersona(t, ts, "auditor", &api.Role{Resource: api.ResourceAuditLogs,
		ResourceIDs: []string{ids[0], ids[1], ids[249], "not-an-entry"}, Access: api.AccessRead})
	pick := func(keep func(i int) bool) []string {
		out := []string{}
		for k, id := range ids {
			if keep(249 - k) {
				out = append(out, id)
			}
		}
		return out
	}
	at := func(m int) string { return listBase.Add(time.Duration(m) * time.Minute).Format(time.RFC3339) }
	login := func(i int) bool { return i%7 == 0 }
	tests := []struct {
		name, query, as string
		want            []string
	}{
		{"user by name", "?user=ann&until=" + at(250), "", pick(func(i int) bool { return i%2 == 0 })},
		{"user by id", "?user=id-bob", "", pick(func(i int) bool { return i%2 == 1 })},
		{"event type", "?event_type=login&until=" + at(1000), "", pick(login)},
		{"category", "?event_category=runners", "", pick(func(i int) bool { return !login(i) })},
		{"target", "?event_target=runner-3", "", pick(func(i int) bool { return i%10 == 3 && !login(i) })},
		{"status", "?status=denied&user=bob", "", pick(func(i int) bool { return login(i) && i%2 == 1 })},
		{"since and until", "?since=" + at(100) + "&until=" + at(110), "", pick(func(i int) bool { return i >= 100 && i < 110 })},
		{"until a date", "?until=2020-01-01", "", []string{}},
		{"every filter", "?user=ann&event_type=update&event_category=runners&event_target=runner-4&status=success&since=" +
			at(50) + "&until=" + at(200), "", pick(func(i int) bool { return i%10 == 4 && !login(i) && i >= 50 && i < 200 })},
		{"restricted caller", "", some, []string{ids[0], ids[1], ids[249]}},
		{"restricted caller, user", "?user=bob", some, []string{ids[0]}},
		{"restricted caller, since", "?since=" + at(1), some, []string{ids[0], ids[1]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			es, total, _ := ts.auditPage(t, tt.query+sep(tt.query)+"limit=10000", tt.as)
			if diff := cmp.Diff(tt.want, auditIDs(es)); diff != "" {
				t.Errorf("GET /audit_logs%s (-want +got):\n%s", tt.query, diff)
			}
			if total != len(tt.want) {
				t.Errorf("GET /audit_logs%s total = %d, want %d", tt.query, total, len(tt.want))
			}
			if len(tt.want) > 2 {
				page, total, _ := ts.auditPage(t, tt.query+sep(tt.query)+"limit=2&offset=1", tt.as)
				if diff := cmp.Diff(tt.want[1:3], auditIDs(page)); diff != "" || total != len(tt.want) {
					t.Errorf("GET /audit_logs%s, second entry on: total %d (want %d), (-want +got):\n%s", tt.query, total, len(tt.want), diff)
				}
			}
		})
	}

	bad := []struct{ query, param string }{
		{"?since=last-week", "since"},
		{"?until=2020-02-30", "until"},
		{"?status=ok", "status"},
		{"?user=a&user=b", "user"},
		{"?max=0", "max"},
		{"?max=10001", "max"},
		{"?max=5&limit=5", "max"},
		{"?limit=10001", "limit"},
		{"?offset=-1", "offset"},
	}
	for _, b := range bad {
		t.Run("bad "+b.query, func(t *testing.T) {
			t.Parallel()
			e := ts.do(t, req{method: "GET", path: "/api/v1/audit_logs" + b.query}).want(t, http.StatusBadRequest).apiError(t)
			if !strings.Contains(e.Error, "query parameter "+b.param) && !strings.Contains(e.Error, "query parameters "+b.param) {
				t.Errorf("GET /audit_logs%s error %q, want it to name query parameter %s", b.query, e.Error, b.param)
			}
		})
	}
}

func sep(query string) string {
	if query == "" {
		return "?"
	}
	return "&"
}

// flushAudit writes every audit entry the server has queued.
func (ts *testServer) flushAudit(t *testing.T) {
	t.Helper()
	ts.Server.audit.Flush()
}

// TestAuditRetention: a server started with --audit-retention deletes older entries (and only those) at once and
// logs how many; without it nothing is deleted.
func TestAuditRetention(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var seeded []string
	t.Run("without retention", func(t *testing.T) {
		ts := startServer(t, func(c *Config) { c.DataDir = dir })
		seeded = seedAudit(t, ts, 30) // 2020: far older than any retention below
		ts.flushAudit(t)
	})
	ts := startServer(t, func(c *Config) { c.DataDir = dir; c.AuditRetention = 30 * 24 * time.Hour })
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(ts.logs.String(), "pruned audit entries") {
		if time.Now().After(deadline) {
			t.Fatalf("no \"pruned audit entries\" in the log after 30s")
		}
		time.Sleep(20 * time.Millisecond) // polling the log for a condition, with a deadline
	}
	if !strings.Contains(ts.logs.String(), "count=30") {
		t.Errorf("retention log does not say count=30:\n%s", ts.logs.String())
	}
	es, total, _ := ts.auditPage(t, "?limit=10000", "")
	for _, e := range es {
		if e.CreateTime.Before(time.Now().Add(-30 * 24 * time.Hour)) {
			t.Errorf("entry %s of %v survived a retention of 30 days", e.ID, e.CreateTime)
		}
	}
	if total == 0 {
		t.Errorf("retention deleted every entry, want the recent ones (root's logins) kept")
	}
	for _, id := range seeded[:1] {
		ts.do(t, req{method: "GET", path: "/api/v1/audit_logs/" + id}).want(t, http.StatusNotFound)
	}
}

func TestAuditRetentionConfig(t *testing.T) {
	t.Parallel()
	if got := DefaultConfig().AuditRetention; got != 0 {
		t.Errorf("DefaultConfig().AuditRetention = %v, want 0 (keep forever)", got)
	}
	c := DefaultConfig()
	err := c.LoadEnv(func(k string) (string, bool) {
		if k == "RUNPLANE_AUDIT_RETENTION" {
			return "2160h", true
		}
		return "", false
	})
	if err != nil || c.AuditRetention != 2160*time.Hour {
		t.Errorf("LoadEnv(RUNPLANE_AUDIT_RETENTION=2160h) = %v, AuditRetention %v; want 2160h", err, c.AuditRetention)
	}
	c.AuditRetention = -time.Hour
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "audit retention") {
		t.Errorf("Validate with a negative audit retention = %v, want an error naming it", err)
	}
}
