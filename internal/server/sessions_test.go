package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// TestAPITokens: the key is shown once, works as the Token header with its owner's rights, and stops working when
// disabled, expired or deleted, each with a clear 401.
func TestAPITokens(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	var created api.APIToken
	ts.do(t, req{method: "POST", path: "/api/v1/api_tokens", json: api.APIToken{Description: "ci"}}).
		want(t, http.StatusOK).decode(t, &created)
	if !strings.HasPrefix(created.Key, "rpat_") || created.ID == "" || !created.IsEnabled() {
		t.Fatalf("created token = %+v, want an enabled token with an rpat_ key", created)
	}
	var got api.APIToken
	ts.do(t, req{method: "GET", path: "/api/v1/api_tokens/" + created.ID}).want(t, http.StatusOK).decode(t, &got)
	if got.Key != "" {
		t.Errorf("GET token answered its key %q; the key is shown only on create", got.Key)
	}
	withKey := func(key string) req {
		return req{method: "GET", path: "/api/v1/runners", noAuth: true, header: map[string]string{"Token": key}}
	}
	ts.do(t, withKey(created.Key)).want(t, http.StatusOK)

	for _, tt := range []struct {
		name, patch, says string
	}{
		{"disabled", `{"enabled":false}`, "disabled"},
	} {
		ts.do(t, req{method: "PATCH", path: "/api/v1/api_tokens/" + created.ID, body: tt.patch}).want(t, http.StatusOK)
		res := ts.do(t, withKey(created.Key)).want(t, http.StatusUnauthorized)
		if e := res.apiError(t); !strings.Contains(e.Error, tt.says) {
			t.Errorf("%s token: error %q, want it to say %q", tt.name, e.Error, tt.says)
		}
	}
	ts.do(t, req{method: "PATCH", path: "/api/v1/api_tokens/" + created.ID, body: `{"enabled":true}`}).want(t, http.StatusOK)
	ts.do(t, withKey(created.Key)).want(t, http.StatusOK)

	// A token in the past cannot be made; one that expires soon stops working when it does.
	past := time.Now().Add(-time.Hour)
	ts.do(t, req{method: "POST", path: "/api/v1/api_tokens", json: api.APIToken{Description: "old", Expires: &past}}).want(t, http.StatusBadRequest)
	soon := time.Now().Add(1500 * time.Millisecond)
	var short api.APIToken
	ts.do(t, req{method: "POST", path: "/api/v1/api_tokens", json: api.APIToken{Description: "short", Expires: &soon}}).
		want(t, http.StatusOK).decode(t, &short)
	ts.do(t, withKey(short.Key)).want(t, http.StatusOK)
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := ts.do(t, withKey(short.Key))
		if res.status == http.StatusUnauthorized {
			if e := res.apiError(t); !strings.Contains(e.Error, "expired") {
				t.Errorf("expired token: error %q, want it to say expired", e.Error)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("token past its expiry still answers %d", res.status)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Lists: own tokens for anyone; all tokens need api_tokens access.
	var own []api.APIToken
	ts.do(t, req{method: "GET", path: "/api/v1/api_tokens"}).want(t, http.StatusOK).decode(t, &own)
	if len(own) != 2 {
		t.Errorf("own tokens = %d, want 2", len(own))
	}
	for _, x := range own {
		if x.Key != "" {
			t.Errorf("listed token %s has its key", x.ID)
		}
	}
	ts.do(t, req{method: "DELETE", path: "/api/v1/api_tokens/" + created.ID}).want(t, http.StatusOK)
	ts.do(t, withKey(created.Key)).want(t, http.StatusUnauthorized)
	ts.do(t, withKey("rpat_nonsense")).want(t, http.StatusUnauthorized)
}

// TestPasswordChangeEndsSessions: changing a password (by the user) or resetting it (by an administrator) makes
// that user's earlier session tokens invalid; tokens issued afterwards work; other users are unaffected.
func TestPasswordChangeEndsSessions(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	var u api.User
	ts.do(t, req{method: "POST", path: "/api/v1/users", json: api.User{Username: "dee", Password: "password-1", Provider: "local"}}).
		want(t, http.StatusOK).decode(t, &u)
	old := ts.login(t, "dee", "password-1")
	// A user may read their own record and change their own password (knowing the current one) without any role...
	ts.do(t, req{method: "GET", path: "/api/v1/users/" + u.ID, as: old}).want(t, http.StatusOK)
	ts.do(t, req{method: "PATCH", path: "/api/v1/users/" + u.ID, body: `{"password":"password-2","current_password":"password-1"}`, as: old}).want(t, http.StatusOK)
	// ...but not their groups.
	res := ts.do(t, req{method: "GET", path: "/api/v1/users/" + u.ID, as: old})
	if res.status != http.StatusUnauthorized {
		t.Fatalf("token from before the password change = %d, want 401", res.status)
	}
	if e := res.apiError(t); !strings.Contains(e.Error, "password") {
		t.Errorf("revoked token error = %q, want it to say why", e.Error)
	}
	fresh := ts.login(t, "dee", "password-2")
	var groups []api.Group
	ts.do(t, req{method: "GET", path: "/api/v1/groups"}).want(t, http.StatusOK).decode(t, &groups)
	ts.do(t, req{method: "PATCH", path: "/api/v1/users/" + u.ID, json: map[string]any{"groups": []string{groups[0].ID}}, as: fresh}).
		want(t, http.StatusForbidden)
	// An administrator's reset ends the user's sessions too; root's own session is unaffected.
	ts.do(t, req{method: "PUT", path: "/api/v1/users/" + u.ID, json: api.User{Username: "dee", Provider: "local", Password: "password-3"}}).
		want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/users/" + u.ID, as: fresh}).want(t, http.StatusUnauthorized)
	ts.do(t, req{method: "GET", path: "/api/v1/users/" + u.ID}).want(t, http.StatusOK)
	ts.login(t, "dee", "password-3")
}

// TestLogout clears the session cookie.
func TestLogout(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	res := ts.do(t, req{method: "POST", path: "/api/v1/logout"}).want(t, http.StatusOK)
	c := findCookie(res.header, "token")
	if c == nil || c.Value != "" || c.MaxAge >= 0 {
		t.Errorf("logout cookie = %+v, want token cleared (empty, Max-Age<0)", c)
	}
	ts.do(t, req{method: "POST", path: "/api/v1/logout", noAuth: true}).want(t, http.StatusUnauthorized)
}

// loginFrom logs in from a given loopback address and returns the status and Retry-After.
func loginFrom(t *testing.T, ts *testServer, addr, user, password string) (int, string, string) {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addr)}}
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, a)
	}}}
	defer c.CloseIdleConnections()
	b, _ := json.Marshal(api.Login{Username: user, Password: password, Provider: "local"})
	r, err := http.NewRequestWithContext(t.Context(), "POST", ts.url+"/api/v1/login", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Do(r)
	if err != nil {
		t.Fatalf("login from %s: %v", addr, err)
	}
	defer res.Body.Close()
	var e api.Error
	_ = json.NewDecoder(res.Body).Decode(&e)
	return res.StatusCode, res.Header.Get("Retry-After"), e.Error
}

// TestLoginThrottling: repeated failures for a user from one address are refused for a while with 429 and
// Retry-After, saying so; the same user logs in from another address meanwhile, so an attacker cannot lock an
// administrator out.
func TestLoginThrottling(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	// The 5th failure starts a wait of a second (the exact counts and waits are TestLoginThrottle's, on a clock of
	// its own). A round whose checks fail only after that second had passed since the 5th failure was sent tells
	// nothing (a loaded machine checks a password slowly): it is tried again from another address.
	const firstWait = time.Second
	const admin = "127.0.0.3"
	for round, attacker := range []string{"127.0.0.2", "127.0.0.4", "127.0.0.5"} {
		var problems []string
		var start time.Time
		for i := range 5 {
			start = time.Now()
			if st, _, _ := loginFrom(t, ts, attacker, "root", "wrong-password"); st != http.StatusUnauthorized {
				t.Fatalf("failure %d = %d, want 401", i+1, st)
			}
		}
		st, retry, msg := loginFrom(t, ts, attacker, "root", "wrong-password")
		if st != http.StatusTooManyRequests {
			problems = append(problems, fmt.Sprintf("6th failure = %d, want 429", st))
		} else {
			if n, err := strconv.Atoi(retry); err != nil || n < 1 {
				t.Errorf("Retry-After = %q, want a number of seconds", retry)
			}
			if !strings.Contains(msg, "too many failed logins") {
				t.Errorf("429 message = %q, want it to say why", msg)
			}
			// Even the right password is refused from the throttled address until the wait is over...
			if st, _, _ := loginFrom(t, ts, attacker, "root", rootPassword); st != http.StatusTooManyRequests {
				problems = append(problems, fmt.Sprintf("right password from the throttled address = %d, want 429", st))
			}
		}
		if len(problems) == 0 {
			break
		}
		if took := time.Since(start); took < firstWait || round == 2 {
			t.Fatalf("from %s, %v after the 5th failure: %s", attacker, took.Round(time.Millisecond), strings.Join(problems, "; "))
		}
	}
	// ...but the administrator at another address is not locked out.
	if st, _, msg := loginFrom(t, ts, admin, "root", rootPassword); st != http.StatusOK {
		t.Errorf("root from another address = %d %s, want 200", st, msg)
	}
}
