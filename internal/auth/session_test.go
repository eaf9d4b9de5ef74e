package auth

import (
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// TestLogout ends one session: that token is refused (on a replica sharing the store too, once its cache is
// stale), the user's other sessions and its API tokens keep working.
func TestLogout(t *testing.T) {
	t.Parallel()
	e := newAPITokenEnv(t)
	e.clock.Add(time.Since(e.clock.Now())) // the store keeps a logout until the session's expiry by its own clock
	login := func() (string, Principal) {
		tok, p, err := e.a.Login(t.Context(), api.Login{Username: "alice", Password: "s3cret-alice"}, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		return tok, p
	}
	ended, _ := login()
	kept, _ := login()
	key, _ := e.token(t, api.APIToken{Description: "ci"})
	replica := newAuth(t, e.st, Options{Now: e.clock.Now}) // another server on the same store
	if _, err := replica.Authenticate(request(bearer(ended), "")); err != nil {
		t.Fatalf("Authenticate on the replica before logout: %v", err)
	}
	p, err := e.a.Authenticate(request(bearer(ended), ""))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.a.Logout(t.Context(), p); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	_, err = e.a.Authenticate(request(nil, ended))
	wantAuthError(t, "Authenticate(cookie of the ended session)", err, errSessionEnded.Msg)
	e.clock.Add(accessTTL)
	_, err = replica.Authenticate(request(bearer(ended), ""))
	wantAuthError(t, "Authenticate(ended session) on the replica", err, errSessionEnded.Msg)
	for name, r := range map[string]map[string]string{"other session": bearer(kept), "API token": {"Token": key}} {
		if _, err := e.a.Authenticate(request(r, "")); err != nil {
			t.Errorf("Authenticate(%s) after another session's logout: %v", name, err)
		}
	}
	// An API token has no session to end.
	pk, err := e.a.Authenticate(request(map[string]string{"Token": key}, ""))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.a.Logout(t.Context(), pk); err != nil {
		t.Errorf("Logout(API token caller) = %v, want nil", err)
	}
}

// TestRevokeAll ends every session and API token of the user, and no other user's.
func TestRevokeAll(t *testing.T) {
	t.Parallel()
	e := newAPITokenEnv(t)
	addUser(t, e.st, "bob", "s3cret-bob")
	tok, p, err := e.a.Login(t.Context(), api.Login{Username: "alice", Password: "s3cret-alice"}, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	bobTok, _, err := e.a.Login(t.Context(), api.Login{Username: "bob", Password: "s3cret-bob"}, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := e.token(t, api.APIToken{Description: "ci"})
	if err := e.a.RevokeAll(t.Context(), p.UserID); err != nil {
		t.Fatalf("RevokeAll: %v", err)
	}
	_, err = e.a.Authenticate(request(bearer(tok), ""))
	wantAuthError(t, "Authenticate(session after RevokeAll)", err, errTokenRevoked.Msg)
	_, err = e.a.Authenticate(request(map[string]string{"Token": key}, ""))
	wantAuthError(t, "Authenticate(API token after RevokeAll)", err, errAPIKeyRevoked.Msg)
	if _, err := e.a.Authenticate(request(bearer(bobTok), "")); err != nil {
		t.Errorf("Authenticate(another user's session) after RevokeAll: %v", err)
	}
	if _, _, err := e.a.Login(t.Context(), api.Login{Username: "alice", Password: "s3cret-alice"}, "192.0.2.1"); err != nil {
		t.Errorf("Login after RevokeAll: %v", err)
	}
}
