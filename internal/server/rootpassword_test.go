package server

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// TestRootPasswordSurvivesRestart: RUNPLANE_ROOT_PASSWORD sets the password root is created with; a password
// changed through the API survives a restart with the variable still set; --reset-root-password sets it back,
// logged and audited.
func TestRootPasswordSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run := func(reset bool) (*testServer, func()) {
		t.Helper()
		cfg := DefaultConfig()
		cfg.Listen, cfg.DataDir, cfg.RootPassword, cfg.ResetRootPassword = "127.0.0.1:0", dir, rootPassword, reset
		logs := &syncBuffer{}
		s, err := Open(t.Context(), cfg, slog.New(slog.NewTextHandler(logs, nil)), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		return &testServer{Server: s, url: s.URL(), logs: logs, console: &syncBuffer{}, seen: &syncBuffer{}}, func() {
			stop()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatal("Run did not return")
			}
			s.Close()
		}
	}
	ts, stop := run(false)
	ts.token = ts.login(t, "root", rootPassword)
	var users []api.User
	ts.do(t, req{method: "GET", path: "/api/v1/users"}).want(t, 200).decode(t, &users)
	me := ""
	for _, u := range users {
		if u.Username == "root" {
			me = u.ID
		}
	}
	ts.do(t, req{method: "PATCH", path: "/api/v1/users/" + me,
		json: map[string]string{"password": "changed-through-the-api", "current_password": rootPassword}}).want(t, 200)
	stop()

	ts, stop = run(false)
	if r := ts.doNoFatal(req{method: "POST", path: "/api/v1/login", noAuth: true, body: `{"username":"root","password":"` + rootPassword + `","provider":"local"}`}); r == nil || r.status != 401 {
		t.Errorf("after a restart, the configured password still logs root in (%v): the API's change was undone", r)
	}
	ts.token = ts.login(t, "root", "changed-through-the-api")
	if !strings.Contains(ts.logs.String(), "is not applied; to reset root's password to it, start once with --reset-root-password") {
		t.Errorf("the server did not say it ignores RUNPLANE_ROOT_PASSWORD:\n%s", ts.logs.String())
	}
	stop()

	ts, stop = run(true)
	defer stop()
	ts.token = ts.login(t, "root", rootPassword)
	if !strings.Contains(ts.logs.String(), "reset root's password to RUNPLANE_ROOT_PASSWORD") {
		t.Errorf("the reset was not logged:\n%s", ts.logs.String())
	}
	var entries []api.AuditLog
	ts.do(t, req{method: "GET", path: "/api/v1/audit_logs?max=1000"}).want(t, 200).decode(t, &entries)
	found := false
	for _, e := range entries {
		if e.EventTarget == "root" && strings.Contains(e.Reason, "--reset-root-password") {
			found = true
		}
	}
	if !found {
		t.Errorf("no audit entry for the reset among %d", len(entries))
	}
	if strings.Contains(ts.logs.String(), rootPassword) {
		t.Error("the log holds root's password")
	}
}
