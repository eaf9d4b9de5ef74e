package auth

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/rbac"
	"github.com/runplane/runplane/internal/store"
)

func TestNewAPIKey(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	a := newAuth(t, st, Options{})
	shape := regexp.MustCompile(`^rpat_[a-z2-7]{52}$`)
	seen := map[string]bool{}
	for range 100 {
		key, hash := a.NewAPIKey()
		if !shape.MatchString(key) {
			t.Errorf("NewAPIKey() key = %q, want %s", key, shape)
		}
		if seen[key] {
			t.Fatalf("NewAPIKey() returned %q twice", key)
		}
		seen[key] = true
		if hash != a.keys.hash(key) || len(hash) != 64 || strings.Contains(hash, key) {
			t.Errorf("NewAPIKey() hash = %q, want the 64 hex digits of the keyed hash of the key", hash)
		}
	}
}

// apiTokenEnv is a user alice with one role, an Authenticator on a settable clock, and a way to make tokens.
type apiTokenEnv struct {
	st    store.Store
	a     *Authenticator
	clock *clock
	alice store.User
	role  api.Role
}

func newAPITokenEnv(t *testing.T) *apiTokenEnv {
	t.Helper()
	st, _ := newStore(t)
	e := &apiTokenEnv{st: st, clock: newClock()}
	e.alice = addUser(t, st, "alice", "s3cret-alice")
	e.role = grant(t, st, e.alice, api.Role{Name: "runner-admins", Resource: api.ResourceRunners, ResourceIDs: []string{api.AllIDs}, Access: api.AccessWrite})
	e.a = newAuth(t, st, Options{Now: e.clock.Now})
	return e
}

// token stores a token of alice built from tmpl and returns its key and the stored token.
func (e *apiTokenEnv) token(t *testing.T, tmpl api.APIToken) (string, store.APIToken) {
	t.Helper()
	key, hash := e.a.NewAPIKey()
	tmpl.Owner = e.alice.ID
	tok, err := e.st.CreateAPIToken(t.Context(), store.APIToken{APIToken: tmpl, KeyHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	return key, tok
}

func (e *apiTokenEnv) authenticate(key string) (Principal, error) {
	return e.a.Authenticate(request(map[string]string{"Token": key}, ""))
}

func TestAPIToken(t *testing.T) {
	t.Parallel()
	e := newAPITokenEnv(t)
	now := e.clock.Now()
	off, on := false, true
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }

	good, goodTok := e.token(t, api.APIToken{Description: "ci"})
	enabled, enabledTok := e.token(t, api.APIToken{Enabled: &on, Expires: at(time.Hour)})
	disabled, _ := e.token(t, api.APIToken{Enabled: &off})
	expired, _ := e.token(t, api.APIToken{Expires: at(-time.Second)})
	expiresNow, _ := e.token(t, api.APIToken{Expires: at(0)})
	disabledExpired, _ := e.token(t, api.APIToken{Enabled: &off, Expires: at(-time.Hour)})
	revoked, _ := e.token(t, api.APIToken{Enabled: &off, RevokedAt: at(-time.Minute)})

	tests := []struct {
		name    string
		key     string
		wantTok string // the token id authenticated as; "" when wantErr
		wantExp *time.Time
		wantErr string
	}{
		{name: "good", key: good, wantTok: goodTok.ID},
		{name: "enabled, expiring later", key: enabled, wantTok: enabledTok.ID, wantExp: enabledTok.Expires},
		{name: "revoked", key: revoked, wantErr: errAPIKeyRevoked.Msg},
		{name: "disabled", key: disabled, wantErr: "API token is disabled"},
		{name: "expired", key: expired, wantErr: "API token has expired"},
		{name: "expiring this instant", key: expiresNow, wantErr: "API token has expired"},
		{name: "disabled and expired", key: disabledExpired, wantErr: "API token is disabled"},
		{name: "unknown key", key: APIKeyPrefix + strings.Repeat("a", 52), wantErr: "invalid API token"},
		{name: "one character changed", key: good[:len(good)-1] + string(good[len(good)-1]^1), wantErr: "invalid API token"},
		{name: "no prefix", key: strings.TrimPrefix(good, APIKeyPrefix), wantErr: "invalid API token"},
		{name: "prefix in capitals", key: strings.ToUpper(APIKeyPrefix) + strings.TrimPrefix(good, APIKeyPrefix), wantErr: "invalid API token"},
		{name: "key in capitals", key: strings.ToUpper(good), wantErr: "invalid API token"},
		{name: "prefix only", key: APIKeyPrefix, wantErr: "invalid API token"},
		{name: "overlong", key: good + strings.Repeat("a", maxAPIKeyLen), wantErr: "invalid API token"},
		{name: "a session token", key: mustIssue(t, e.a, Principal{UserID: e.alice.ID, Username: "alice", Provider: "local"}), wantErr: "invalid API token"},
		{name: "the stored hash", key: goodTok.KeyHash, wantErr: "invalid API token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := e.authenticate(tt.key)
			if tt.wantErr != "" {
				wantAuthError(t, "Authenticate(Token: "+tt.name+")", err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("Authenticate(Token: %s): %v", tt.name, err)
			}
			want := Principal{UserID: e.alice.ID, Username: "alice", Provider: "local", Grants: rbac.Grants{e.role}, APITokenID: tt.wantTok,
				APITokenExpires: tt.wantExp}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Authenticate(Token: %s) (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

// TestAPITokenLifecycle follows one token through expiry on the clock and being disabled and enabled again.
func TestAPITokenLifecycle(t *testing.T) {
	t.Parallel()
	e := newAPITokenEnv(t)
	expires := e.clock.Now().Add(time.Hour)
	key, tok := e.token(t, api.APIToken{Expires: &expires})
	if _, err := e.authenticate(key); err != nil {
		t.Fatalf("Authenticate(fresh token): %v", err)
	}
	off := false
	tok.Enabled = &off
	if _, err := e.st.UpdateAPIToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	_, err := e.authenticate(key)
	wantAuthError(t, "Authenticate(disabled token)", err, "API token is disabled")

	tok.Enabled = nil // enabled again
	if _, err := e.st.UpdateAPIToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Hour - time.Nanosecond)
	if _, err := e.authenticate(key); err != nil {
		t.Fatalf("Authenticate(re-enabled token just before it expires): %v", err)
	}
	e.clock.Add(time.Nanosecond)
	_, err = e.authenticate(key)
	wantAuthError(t, "Authenticate(token at its expiry)", err, "API token has expired")

	if err := e.st.DeleteAPIToken(t.Context(), tok.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.authenticate(key)
	wantAuthError(t, "Authenticate(deleted token)", err, "invalid API token")
}

// TestAPIKeyBoundToSigningKey checks that the stored hash depends on the server's signing key: another server
// (or someone holding only a copy of the database) cannot check a key against it.
func TestAPIKeyBoundToSigningKey(t *testing.T) {
	t.Parallel()
	e := newAPITokenEnv(t)
	key, _ := e.token(t, api.APIToken{})
	other, err := New(e.st, []byte("another signing key, 32 bytes!!!"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = other.Authenticate(request(map[string]string{"Token": key}, ""))
	wantAuthError(t, "Authenticate with another signing key", err, "invalid API token")
	if _, err := e.authenticate(key); err != nil {
		t.Errorf("Authenticate with the signing key it was made with: %v", err)
	}
}

// TestAPIKeyNeverStored checks that only the keyed hash of a key reaches the store: not in the token row, not
// anywhere in the database files.
func TestAPIKeyNeverStored(t *testing.T) {
	t.Parallel()
	st, dir := newStore(t)
	alice := addUser(t, st, "alice", "s3cret-alice")
	a := newAuth(t, st, Options{})
	key, hash := a.NewAPIKey()
	created, err := st.CreateAPIToken(t.Context(), store.APIToken{APIToken: api.APIToken{Owner: alice.ID, Key: key}, KeyHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	row, err := st.GetAPIToken(t.Context(), created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if row.KeyHash == key || row.KeyHash != hash || row.Key != "" || created.Key != "" {
		t.Errorf("stored token = {Key: %q, KeyHash: %q}, want no key and the hash %q", row.Key, row.KeyHash, hash)
	}
	if _, err := a.Authenticate(request(map[string]string{"Token": key}, "")); err != nil {
		t.Fatalf("Authenticate(Token): %v", err)
	}

	files, err := filepath.Glob(filepath.Join(dir, "runplane.db*")) // the database, its WAL and shared memory
	if err != nil || len(files) == 0 {
		t.Fatalf("database files: %v, %v", files, err)
	}
	secretPart := strings.TrimPrefix(key, APIKeyPrefix)
	hashFound := false
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secretPart)) || bytes.Contains(bytes.ToUpper(b), []byte(strings.ToUpper(secretPart))) {
			t.Errorf("%s holds the API token key", filepath.Base(f))
		}
		hashFound = hashFound || bytes.Contains(b, []byte(hash))
	}
	if !hashFound {
		t.Errorf("the key's hash is in none of %v: the search looked in the wrong place", files)
	}
}
