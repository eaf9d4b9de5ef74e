package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/internal/store"
)

func testSessionRevoke(t *testing.T, s store.Store) {
	ctx := t.Context()
	// The store's clock is the real one: expiries are relative to it.
	later, past := time.Now().Add(time.Hour), time.Now().Add(-time.Minute)
	must(t, "RevokeSession", s.RevokeSession(ctx, "ann-id", "s2", later))
	must(t, "RevokeSession", s.RevokeSession(ctx, "ann-id", "s1", later))
	must(t, "RevokeSession twice", s.RevokeSession(ctx, "ann-id", "s1", later))
	must(t, "RevokeSession", s.RevokeSession(ctx, "ann-id", "expired", past))
	must(t, "RevokeSession", s.RevokeSession(ctx, "bob-id", "s3", later))
	tests := []struct {
		user string
		want []string
	}{
		{"ann-id", []string{"s1", "s2"}},
		{"bob-id", []string{"s3"}},
		{"nobody", []string{}},
	}
	for _, tt := range tests {
		got, err := s.RevokedSessions(ctx, tt.user)
		must(t, "RevokedSessions", err)
		if got == nil || !cmp.Equal(tt.want, got) {
			t.Errorf("RevokedSessions(%q) = %#v, want %#v", tt.user, got, tt.want)
		}
	}
}

// tokenStates returns, per key hash, whether a token is enabled and whether it is revoked.
func tokenStates(t *testing.T, s store.Store, owner string) map[string][2]bool {
	t.Helper()
	ts, err := s.ListAPITokens(t.Context(), owner)
	must(t, "ListAPITokens", err)
	m := map[string][2]bool{}
	for _, tk := range ts {
		m[tk.KeyHash] = [2]bool{tk.IsEnabled(), tk.RevokedAt != nil}
	}
	return m
}

func testRevokeCredentials(t *testing.T, s store.Store) {
	ctx := t.Context()
	ann := createUser(t, s, user("ann", local))
	bob := createUser(t, s, user("bob", local))
	a1 := createToken(t, s, token(ann.ID, "a1", 0))
	off := token(ann.ID, "a2", 1)
	off.Enabled = ptr(false)
	createToken(t, s, off)
	createToken(t, s, token(bob.ID, "b1", 2))

	must(t, "RevokeCredentials", s.RevokeCredentials(ctx, ann.ID))
	got, err := s.GetUser(ctx, ann.ID)
	must(t, "GetUser", err)
	if got.Generation != ann.Generation+1 {
		t.Errorf("Generation after RevokeCredentials = %d, want %d", got.Generation, ann.Generation+1)
	}
	want := map[string][2]bool{"a1": {false, true}, "a2": {false, true}}
	if diff := cmp.Diff(want, tokenStates(t, s, ann.ID)); diff != "" {
		t.Errorf("ann's tokens (enabled, revoked) after RevokeCredentials (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][2]bool{"b1": {true, false}}, tokenStates(t, s, bob.ID)); diff != "" {
		t.Errorf("another user's tokens changed (-want +got):\n%s", diff)
	}
	// A revoked token stays disabled whatever an update says, and keeps its revocation time.
	before, err := s.GetAPIToken(ctx, a1.ID)
	must(t, "GetAPIToken", err)
	in := before
	in.Enabled, in.RevokedAt = ptr(true), nil
	after, err := s.UpdateAPIToken(ctx, in)
	must(t, "UpdateAPIToken", err)
	if after.IsEnabled() || after.RevokedAt == nil || !after.RevokedAt.Equal(*before.RevokedAt) {
		t.Errorf("UpdateAPIToken(enable a revoked token) = enabled %v, revoked %v; want disabled, revoked %v",
			after.IsEnabled(), after.RevokedAt, before.RevokedAt)
	}
	// A second revocation keeps the first time and revokes what was created since.
	createToken(t, s, token(ann.ID, "a3", 3))
	must(t, "RevokeCredentials", s.RevokeCredentials(ctx, ann.ID))
	again, err := s.GetAPIToken(ctx, a1.ID)
	must(t, "GetAPIToken", err)
	if !again.RevokedAt.Equal(*before.RevokedAt) {
		t.Errorf("RevokedAt after a second revocation = %v, want the first, %v", again.RevokedAt, before.RevokedAt)
	}
	if st := tokenStates(t, s, ann.ID)["a3"]; st != [2]bool{false, true} {
		t.Errorf("token created between revocations (enabled, revoked) = %v after the second, want revoked", st)
	}
	if err := s.RevokeCredentials(ctx, "no-such-user"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeCredentials(absent user) = %v, want ErrNotFound", err)
	}
}

func testSetPasswordRevokesTokens(t *testing.T, s store.Store) {
	ann := createUser(t, s, user("ann", local))
	bob := createUser(t, s, user("bob", local))
	createToken(t, s, token(ann.ID, "a1", 0))
	createToken(t, s, token(bob.ID, "b1", 1))
	must(t, "SetPassword", s.SetPassword(t.Context(), ann.ID, "new-hash"))
	if diff := cmp.Diff(map[string][2]bool{"a1": {false, true}}, tokenStates(t, s, ann.ID)); diff != "" {
		t.Errorf("tokens (enabled, revoked) after SetPassword (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][2]bool{"b1": {true, false}}, tokenStates(t, s, bob.ID)); diff != "" {
		t.Errorf("another user's tokens changed by SetPassword (-want +got):\n%s", diff)
	}
}
