package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

// TestAuditLog: every mutation and every login attempt is recorded with who, provider, action, target, outcome,
// time and source address, newest first; no password, token or secret value appears in it.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	const (
		runnerToken = "ghp_runnerTokenValue123"
		secretValue = "s3cr3t-value-for-audit"
		userPass    = "user-password-for-audit"
		wrongPass   = "wrong-password-for-audit"
	)
	ts.createRunner(t, api.Runner{Name: "private", GitURL: "https://git.example.org/x.git", Token: runnerToken,
		Secret: map[string]string{"API_KEY": secretValue}})
	ts.do(t, req{method: "PUT", path: "/api/v1/runners/private/secret", json: map[string]string{"API_KEY": secretValue + "2"}}).want(t, http.StatusOK)
	var u api.User
	ts.do(t, req{method: "POST", path: "/api/v1/users", json: api.User{Username: "erin", Password: userPass, Provider: "local"}}).
		want(t, http.StatusOK).decode(t, &u)
	var tok api.APIToken
	ts.do(t, req{method: "POST", path: "/api/v1/api_tokens", json: api.APIToken{Description: "audit"}}).want(t, http.StatusOK).decode(t, &tok)
	if st, _, _ := loginFrom(t, ts, "127.0.0.4", "erin", wrongPass); st != http.StatusUnauthorized {
		t.Fatalf("wrong password = %d, want 401", st)
	}
	erin := ts.login(t, "erin", userPass)
	ts.do(t, req{method: "DELETE", path: "/api/v1/runners/private", as: erin}).want(t, http.StatusForbidden)
	ts.createTask(t, api.Task{Name: "hello", Runner: "repo", Command: "true"})
	var job api.JobCreated
	ts.do(t, req{method: "POST", path: "/api/v1/jobs/hello?wait=0", body: `{"password":"` + userPass + `"}`}).want(t, http.StatusOK).decode(t, &job)

	ts.Server.audit.Flush()
	res := ts.do(t, req{method: "GET", path: "/api/v1/audit_logs?max=1000"}).want(t, http.StatusOK)
	for _, s := range []string{runnerToken, secretValue, userPass, wrongPass, tok.Key, ts.token, erin, rootPassword} {
		if strings.Contains(string(res.body), s) {
			t.Errorf("audit log contains a secret (%.8s...)", s)
		}
	}
	var entries []api.AuditLog
	res.decode(t, &entries)
	for i := 1; i < len(entries); i++ {
		if entries[i].CreateTime.After(entries[i-1].CreateTime) {
			t.Fatalf("audit log not newest first at %d: %v after %v", i, entries[i].CreateTime, entries[i-1].CreateTime)
		}
	}
	find := func(typ, category, target, status, user string) *api.AuditLog {
		for i, e := range entries {
			if e.EventType == typ && e.EventCategory == category && e.EventTarget == target && e.Status == status && e.Username == user {
				return &entries[i]
			}
		}
		t.Errorf("no audit entry %s %s %s %s by %s in:\n%s", typ, category, target, status, user, res.body)
		return nil
	}
	if e := find("login", "auth", "erin", api.AuditFailure, "erin"); e != nil && e.Source != "127.0.0.4" {
		t.Errorf("failed login source = %q, want 127.0.0.4", e.Source)
	}
	if e := find("login", "auth", "erin", api.AuditSuccess, "erin"); e != nil && (e.UserID != u.ID || e.Provider != "local") {
		t.Errorf("login entry = %+v, want user id %s, provider local", e, u.ID)
	}
	if e := find("create", "runners", "private", api.AuditSuccess, "root"); e != nil && (e.Source != "127.0.0.1" || e.CreateTime.IsZero() || e.ID == "") {
		t.Errorf("create entry = %+v, want source, time and id", e)
	}
	find("update", "runners", "private", api.AuditSuccess, "root")
	find("create", "users", u.ID, api.AuditSuccess, "root")
	find("create", "api_tokens", tok.ID, api.AuditSuccess, "root")
	if e := find("delete", "runners", "private", api.AuditDenied, "erin"); e != nil && !strings.Contains(e.Reason, "forbidden") {
		t.Errorf("denied entry reason = %q, want the 403 message", e.Reason)
	}
	find("run", "jobs", job.ID, api.AuditSuccess, "root")

	var one api.AuditLog
	ts.do(t, req{method: "GET", path: "/api/v1/audit_logs/" + entries[0].ID}).want(t, http.StatusOK).decode(t, &one)
	if one.ID != entries[0].ID {
		t.Errorf("GET audit log %s = %+v", entries[0].ID, one)
	}
	var two []api.AuditLog
	ts.do(t, req{method: "GET", path: "/api/v1/audit_logs?max=2"}).want(t, http.StatusOK).decode(t, &two)
	if len(two) != 2 || two[0].ID != entries[0].ID {
		t.Errorf("?max=2 = %d entries, want the newest 2", len(two))
	}
	ts.do(t, req{method: "GET", path: "/api/v1/audit_logs?max=0"}).want(t, http.StatusBadRequest)
	ts.do(t, req{method: "GET", path: "/api/v1/audit_logs?max=x"}).want(t, http.StatusBadRequest)
	// Reading the audit log needs audit_logs access.
	ts.do(t, req{method: "GET", path: "/api/v1/audit_logs", as: erin}).want(t, http.StatusForbidden)
}
