package client_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/server/servertest"
)

func TestAPITokens(t *testing.T) {
	url := servertest.Start(t)
	c := newClient(t, url)
	ctx := t.Context()

	expires := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	tok, err := c.CreateAPIToken(ctx, api.APIToken{Description: "ci", Expires: &expires})
	if err != nil {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	if tok.ID == "" || tok.Key == "" || tok.Description != "ci" || !tok.IsEnabled() || tok.Expires == nil || !tok.Expires.Equal(expires) {
		t.Fatalf("CreateAPIToken = %+v, want an id, a key, description ci, enabled, expiring %v", tok, expires)
	}
	root := rootUser(t, c)
	if tok.Owner != root.ID {
		t.Errorf("token owner = %q, want root's id %q", tok.Owner, root.ID)
	}

	// The key authenticates as its owner, sent as the Token header.
	byKey, err := client.New(url, client.WithAPIToken(tok.Key))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := byKey.ListRunners(ctx); err != nil {
		t.Errorf("ListRunners with the API token: %v", err)
	}
	// An API token wins over a session token; a bad one is refused even beside a good session.
	bad, err := client.New(url, client.WithAPIToken("rpat_nope"), client.WithToken(c.Token()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.ListRunners(ctx)
	checkStatus(t, "ListRunners with a bad API token", err, 401)

	// The key is shown once: neither get nor list shows it again.
	got, err := c.GetAPIToken(ctx, tok.ID)
	if err != nil {
		t.Fatalf("GetAPIToken: %v", err)
	}
	if got.Key != "" || got.Description != "ci" {
		t.Errorf("GetAPIToken = %+v, want description ci and no key", got)
	}
	for name, list := range map[string]func() ([]api.APIToken, error){
		"ListAPITokens":    func() ([]api.APIToken, error) { return c.ListAPITokens(ctx) },
		"ListAllAPITokens": func() ([]api.APIToken, error) { return c.ListAllAPITokens(ctx) },
	} {
		ts, err := list()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(ts) != 1 || ts[0].ID != tok.ID || ts[0].Key != "" {
			t.Errorf("%s = %+v, want the one token without its key", name, ts)
		}
	}

	// Disabling stops the key; enabling again restores it.
	off := false
	if got, err = c.PatchAPIToken(ctx, tok.ID, map[string]any{"enabled": false}); err != nil || got.IsEnabled() {
		t.Fatalf("PatchAPIToken enabled=false = %+v, %v", got, err)
	}
	_, err = byKey.ListRunners(ctx)
	checkStatus(t, "ListRunners with a disabled token", err, 401)
	if got, err = c.UpdateAPIToken(ctx, api.APIToken{ID: tok.ID, Description: "ci pipeline", Enabled: &off}); err != nil {
		t.Fatalf("UpdateAPIToken: %v", err)
	}
	if got.Description != "ci pipeline" || got.IsEnabled() || got.Expires != nil {
		t.Errorf("UpdateAPIToken = %+v, want the new description, disabled, no expiry", got)
	}
	if _, err = c.PatchAPIToken(ctx, tok.ID, map[string]any{"enabled": true}); err != nil {
		t.Fatalf("PatchAPIToken enabled=true: %v", err)
	}
	if _, err := byKey.ListRunners(ctx); err != nil {
		t.Errorf("ListRunners with the token enabled again: %v", err)
	}

	if err := c.DeleteAPIToken(ctx, tok.ID); err != nil {
		t.Fatalf("DeleteAPIToken: %v", err)
	}
	_, err = byKey.ListRunners(ctx)
	checkStatus(t, "ListRunners with a deleted token", err, 401)
	_, err = c.GetAPIToken(ctx, tok.ID)
	checkStatus(t, "GetAPIToken after delete", err, 404)
	checkStatus(t, "DeleteAPIToken again", c.DeleteAPIToken(ctx, tok.ID), 404)

	past := time.Now().Add(-time.Hour)
	_, err = c.CreateAPIToken(ctx, api.APIToken{Description: "late", Expires: &past})
	checkStatus(t, "CreateAPIToken expiring in the past", err, 400)
}

// TestAPITokenOwners checks that a user sees and manages only their own tokens.
func TestAPITokenOwners(t *testing.T) {
	url := servertest.Start(t)
	c := newClient(t, url)
	ctx := t.Context()
	createUsers(t, c, "fay")
	fay := login(t, url, "fay", "fay-password")

	mine, err := fay.CreateAPIToken(ctx, api.APIToken{Description: "fay's"})
	if err != nil {
		t.Fatalf("CreateAPIToken as fay: %v", err)
	}
	roots, err := c.CreateAPIToken(ctx, api.APIToken{Description: "root's"})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := fay.ListAPITokens(ctx)
	if err != nil || len(ts) != 1 || ts[0].ID != mine.ID {
		t.Errorf("ListAPITokens as fay = %+v, %v; want only her token", ts, err)
	}
	_, err = fay.ListAllAPITokens(ctx)
	checkStatus(t, "ListAllAPITokens as fay", err, 403)
	_, err = fay.GetAPIToken(ctx, roots.ID)
	checkStatus(t, "GetAPIToken of root's token as fay", err, 403)
	checkStatus(t, "DeleteAPIToken of root's token as fay", fay.DeleteAPIToken(ctx, roots.ID), 403)
	all, err := c.ListAllAPITokens(ctx)
	if err != nil || len(all) != 2 {
		t.Errorf("ListAllAPITokens as root = %+v, %v; want both tokens", all, err)
	}
	if err := fay.DeleteAPIToken(ctx, mine.ID); err != nil {
		t.Errorf("DeleteAPIToken of her own token as fay: %v", err)
	}
}

func TestAuditLogs(t *testing.T) {
	url := servertest.Start(t)
	c := newClient(t, url)
	ctx := t.Context()
	if _, err := c.CreateRole(ctx, api.Role{Name: "audited", Resource: api.ResourceTasks, ResourceIDs: []string{"*"}, Access: api.AccessRead}); err != nil {
		t.Fatal(err)
	}
	anon, _ := client.New(url)
	if _, err := anon.Login(ctx, api.Login{Username: "root", Password: "wrong-password"}); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("bad Login: %v", err)
	}

	// Entries are written in the background: wait for both with a deadline.
	var logs []api.AuditLog
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if logs, err = c.ListAuditLogs(ctx, 0); err != nil {
			t.Fatalf("ListAuditLogs: %v", err)
		}
		if hasAudit(logs, "create", "roles", api.AuditSuccess) && hasAudit(logs, "login", "auth", api.AuditFailure) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ListAuditLogs = %+v, want a successful role creation and a failed login", logs)
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	for i := 1; i < len(logs); i++ {
		if logs[i].CreateTime.After(logs[i-1].CreateTime) {
			t.Errorf("ListAuditLogs is not newest first: %v before %v", logs[i-1].CreateTime, logs[i].CreateTime)
		}
	}
	for _, l := range logs {
		if strings.Contains(l.Reason, "wrong-password") || strings.Contains(l.EventTarget, "wrong-password") {
			t.Errorf("audit entry holds the password: %+v", l)
		}
	}
	one, err := c.ListAuditLogs(ctx, 1)
	if err != nil || len(one) != 1 || one[0].ID != logs[0].ID {
		t.Errorf("ListAuditLogs(max 1) = %+v, %v; want the newest entry %s", one, err, logs[0].ID)
	}
	got, err := c.GetAuditLog(ctx, logs[0].ID)
	if err != nil || got.ID != logs[0].ID || got.EventType != logs[0].EventType {
		t.Errorf("GetAuditLog = %+v, %v; want %+v", got, err, logs[0])
	}
	_, err = c.GetAuditLog(ctx, "no-such-id")
	checkStatus(t, "GetAuditLog missing", err, 404)
}

func hasAudit(logs []api.AuditLog, event, category, status string) bool {
	for _, l := range logs {
		if l.EventType == event && l.EventCategory == category && l.Status == status {
			return true
		}
	}
	return false
}

func TestLogout(t *testing.T) {
	url := servertest.Start(t)
	c := newClient(t, url)
	if err := c.Logout(t.Context()); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if c.Token() != "" {
		t.Errorf("token after Logout = %q, want none", c.Token())
	}
	_, err := c.ListRunners(t.Context())
	checkStatus(t, "ListRunners after Logout", err, 401)
	anon, _ := client.New(url)
	checkStatus(t, "Logout without a session", anon.Logout(t.Context()), 401)
}

// TestLoginThrottled checks that repeated failed logins are refused with 429 and a Retry-After the client reads.
func TestLoginThrottled(t *testing.T) {
	url := servertest.Start(t)
	c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		_, err = c.Login(t.Context(), api.Login{Username: "mallory", Password: "guess-" + string(rune('a'+i))})
		if !errors.Is(err, client.ErrUnauthorized) {
			break
		}
	}
	ce := checkStatus(t, "Login after many failures", err, 429)
	if !errors.Is(err, client.ErrTooManyRequests) {
		t.Errorf("errors.Is(%v, ErrTooManyRequests) = false", err)
	}
	if ce.RetryAfter <= 0 || ce.RetryAfter > 10*time.Minute {
		t.Errorf("RetryAfter = %v, want a positive wait", ce.RetryAfter)
	}
}
