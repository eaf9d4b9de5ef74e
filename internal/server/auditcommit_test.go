package server

import (
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the driver, to inject failures into the server's database

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

// auditEntries reads the audit log straight from the store, without flushing the server's queue: what is there
// would survive a kill -9 now.
func (ts *testServer) auditEntries(t *testing.T) []api.AuditLog {
	t.Helper()
	es, err := ts.Server.store.ListAudit(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func hasEntry(es []api.AuditLog, typ, category, target, status string) bool {
	for _, e := range es {
		if e.EventType == typ && e.EventCategory == category && e.EventTarget == target && e.Status == status {
			return true
		}
	}
	return false
}

// TestAuditCommitsWithChange: a change the API answered 200 has its audit entry stored by the time the answer
// arrives (it committed in the change's transaction), so a kill -9 right after loses neither. On both stores.
func TestAuditCommitsWithChange(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		store func(t *testing.T) string
	}{
		{"sqlite", func(*testing.T) string { return StoreSQLite }},
		{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dsn := tt.store(t)
			testAuditCommitsWithChange(t, startServer(t, func(c *Config) { c.Store = dsn }))
		})
	}
}

func testAuditCommitsWithChange(t *testing.T, ts *testServer) {
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "quick", Runner: "repo", Command: "true"})
	if !hasEntry(ts.auditEntries(t), "create", "tasks", "quick", api.AuditSuccess) {
		t.Errorf("no audit entry for the task created just now")
	}
	for i := range 20 {
		id := created(t, ts.submit(t, "/api/v1/jobs/quick?wait=0", "", nil))
		if !hasEntry(ts.auditEntries(t), "run", "jobs", id, api.AuditSuccess) {
			t.Fatalf("submission %d: job %s accepted, but no audit entry is stored for it", i, id)
		}
	}
	var u api.User
	ts.do(t, req{method: "POST", path: "/api/v1/users", json: api.User{Username: "dana", Password: "dana-password-1", Provider: "local"}}).
		want(t, http.StatusOK).decode(t, &u)
	ts.do(t, req{method: "DELETE", path: "/api/v1/users/" + u.ID}).want(t, http.StatusOK)
	es := ts.auditEntries(t)
	if !hasEntry(es, "create", "users", u.ID, api.AuditSuccess) || !hasEntry(es, "delete", "users", u.ID, api.AuditSuccess) {
		t.Errorf("user %s created and deleted, but the audit log lacks an entry for either", u.ID)
	}
}

// TestAuditRollsBackWithChange injects failures into the server's database: a change whose audit entry cannot be
// written does not happen (500, nothing stored), and a change that fails leaves no success entry, only the
// failure.
func TestAuditRollsBackWithChange(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	db, err := sql.Open("sqlite", filepath.Join(ts.cfg.DataDir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, trigger := range []string{
		`CREATE TRIGGER no_audit BEFORE INSERT ON audit_logs WHEN NEW.event_target = 'unrecorded'
			BEGIN SELECT RAISE(ABORT, 'injected: audit log refuses the entry'); END`,
		`CREATE TRIGGER no_jobs BEFORE INSERT ON jobs WHEN NEW.task = 'doomed'
			BEGIN SELECT RAISE(ABORT, 'injected: jobs table refuses the job'); END`,
	} {
		if _, err := db.ExecContext(t.Context(), trigger); err != nil {
			t.Fatalf("inject failure: %v", err)
		}
	}

	ts.do(t, req{method: "POST", path: "/api/v1/runners", json: api.Runner{Name: "unrecorded", GitURL: "https://git.example.org/x.git"}}).
		want(t, http.StatusInternalServerError)
	ts.do(t, req{method: "GET", path: "/api/v1/runners/unrecorded"}).want(t, http.StatusNotFound)

	ts.createTask(t, api.Task{Name: "doomed", Runner: "repo", Command: "true"})
	ts.do(t, req{method: "POST", path: "/api/v1/jobs/doomed?wait=0"}).want(t, http.StatusInternalServerError)
	var jobs []api.Job
	ts.do(t, req{method: "GET", path: "/api/v1/jobs?task=doomed"}).want(t, http.StatusOK).decode(t, &jobs)
	if len(jobs) != 0 {
		t.Errorf("jobs of task doomed = %d, want none: the insert failed", len(jobs))
	}
	ts.Server.audit.Flush()
	es := ts.auditEntries(t)
	for _, e := range es {
		if e.EventTarget == "unrecorded" || (e.EventCategory == "jobs" && e.Status == api.AuditSuccess) {
			t.Errorf("audit entry %+v for a change that rolled back", e)
		}
	}
	if !hasEntry(es, "run", "jobs", "doomed", api.AuditFailure) {
		t.Errorf("no failure entry for the refused submission")
	}
}

// TestAuditBoundsUsernames: a login with a megabyte username answers 400, and its audit entry stays short.
func TestAuditBoundsUsernames(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	long := strings.Repeat("m", 1_000_000)
	for _, tt := range []struct {
		name, user, password string
	}{
		{"username", long, "whatever-password"},
		{"password", "mallory", strings.Repeat("p", 100_000)},
	} {
		res := ts.do(t, req{method: "POST", path: "/api/v1/login", noAuth: true,
			json: api.Login{Username: tt.user, Password: tt.password, Provider: "local"}})
		res.want(t, http.StatusBadRequest)
		if e := res.apiError(t); !strings.Contains(e.Error, tt.name+" longer than") {
			t.Errorf("over-long %s: error %q, want it to say the %s is too long", tt.name, e.Error, tt.name)
		}
	}
	ts.Server.audit.Flush()
	n := 0
	for _, e := range ts.auditEntries(t) {
		if e.EventType != "login" {
			continue
		}
		if len(e.Username) > 256 || len(e.EventTarget) > 512 || len(e.Reason) > 1024 {
			t.Errorf("login audit entry of %d+%d+%d bytes, want username ≤ 256, target ≤ 512, reason ≤ 1024",
				len(e.Username), len(e.EventTarget), len(e.Reason))
		}
		if strings.HasPrefix(e.Username, "mmm") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("login entries for the long username = %d, want 1", n)
	}
}

// TestAuditCountsRefusedLogins: once a user's logins from an address are throttled, the refused attempts of a
// window make one audit entry that counts them.
func TestAuditCountsRefusedLogins(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	const addr = "127.0.0.13"
	refused := 0
	for i := 0; i < 50 && refused == 0; i++ {
		if st, _, _ := loginFrom(t, ts, addr, "root", "wrong-password"); st == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused == 0 {
		t.Fatalf("50 wrong passwords from %s were never throttled", addr)
	}
	// 30 more refused. On a slow machine the wait (1 s, then doubling) may end between two of them: that attempt
	// is checked again (401) and not counted.
	for i := 0; i < 40 && refused < 31; i++ {
		switch st, _, _ := loginFrom(t, ts, addr, "root", "wrong-password"); st {
		case http.StatusTooManyRequests:
			refused++
		case http.StatusUnauthorized:
		default:
			t.Fatalf("login while throttled = %d, want 429 (or 401 once the wait ended)", st)
		}
	}
	if refused < 31 {
		t.Fatalf("%d of 40 logins while throttled were refused, want 30", refused-1)
	}
	ts.Server.audit.Flush()
	var counted []api.AuditLog
	for _, e := range ts.auditEntries(t) {
		if e.EventType == "login" && e.Source == addr && strings.Contains(e.Reason, "attempts refused") {
			counted = append(counted, e)
		}
	}
	if len(counted) != 1 {
		t.Fatalf("audit entries for throttled logins = %d, want 1 counting them all", len(counted))
	}
	if want := fmt.Sprintf("(%d attempts refused", refused); !strings.Contains(counted[0].Reason, want) {
		t.Errorf("throttled-login entry reason %q, want it to say %q", counted[0].Reason, want)
	}
}
