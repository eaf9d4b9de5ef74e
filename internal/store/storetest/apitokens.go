package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// token returns an enabled token of owner that never expires, created and updated at(n).
func token(owner, keyHash string, n int) store.APIToken {
	enabled := true
	return store.APIToken{APIToken: api.APIToken{ID: uuid.NewString(), Owner: owner, Description: "token " + keyHash,
		Enabled: &enabled, CreateTime: at(n), UpdateTime: at(n)}, KeyHash: keyHash}
}

func createToken(t *testing.T, s store.Store, tk store.APIToken) store.APIToken {
	t.Helper()
	got, err := s.CreateAPIToken(t.Context(), tk)
	must(t, "CreateAPIToken", err)
	return got
}

func ptr[T any](v T) *T { return &v }

func testAPITokenRoundTrip(t *testing.T, s store.Store) {
	ann := createUser(t, s, user("ann", local))
	defaulted := token(ann.ID, "h-default", 0)
	defaulted.Enabled = nil
	disabled := token(ann.ID, "h-disabled", 1)
	disabled.Enabled = ptr(false)
	expiring := token(ann.ID, "h-expiring", 2)
	expiring.Expires = ptr(at(3600))
	withKey := token(ann.ID, "h-key", 3)
	withKey.Key = "rp_the-key-itself"
	byAdmin := token(ann.ID, "h-by-admin", 4)
	byAdmin.Enabled, byAdmin.DisabledByAdmin = ptr(false), true
	revoked := token(ann.ID, "h-revoked", 5)
	revoked.Enabled, revoked.RevokedAt = ptr(false), ptr(at(6))
	tests := []struct {
		name string
		in   store.APIToken
		want func(store.APIToken) store.APIToken // from in
	}{
		{"enabled", token(ann.ID, "h-enabled", 0), func(tk store.APIToken) store.APIToken { return tk }},
		{"enabled when not said", defaulted, func(tk store.APIToken) store.APIToken { tk.Enabled = ptr(true); return tk }},
		{"disabled", disabled, func(tk store.APIToken) store.APIToken { return tk }},
		{"expiring", expiring, func(tk store.APIToken) store.APIToken { return tk }},
		{"key is not kept", withKey, func(tk store.APIToken) store.APIToken { tk.Key = ""; return tk }},
		{"disabled by an administrator", byAdmin, func(tk store.APIToken) store.APIToken { return tk }},
		{"revoked", revoked, func(tk store.APIToken) store.APIToken { return tk }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want(tt.in)
			created, err := s.CreateAPIToken(t.Context(), tt.in)
			must(t, "CreateAPIToken", err)
			if diff := cmp.Diff(want, created); diff != "" {
				t.Errorf("CreateAPIToken(%q) returned (-want +got):\n%s", tt.in.ID, diff)
			}
			got, err := s.GetAPIToken(t.Context(), tt.in.ID)
			must(t, "GetAPIToken", err)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GetAPIToken(%q) mismatch (-want +got):\n%s", tt.in.ID, diff)
			}
			got, err = s.GetAPITokenByHash(t.Context(), tt.in.KeyHash)
			must(t, "GetAPITokenByHash", err)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GetAPITokenByHash(%q) mismatch (-want +got):\n%s", tt.in.KeyHash, diff)
			}
		})
	}
	t.Run("empty id and times are filled", func(t *testing.T) {
		tk := token(ann.ID, "h-zero", 0)
		tk.ID, tk.CreateTime, tk.UpdateTime = "", time.Time{}, time.Time{}
		created, err := s.CreateAPIToken(t.Context(), tk)
		must(t, "CreateAPIToken", err)
		if created.ID == "" || created.CreateTime.IsZero() || created.UpdateTime.IsZero() {
			t.Errorf("CreateAPIToken = id %q, created %v, updated %v; want all set", created.ID, created.CreateTime,
				created.UpdateTime)
		}
		got, err := s.GetAPIToken(t.Context(), created.ID)
		must(t, "GetAPIToken", err)
		if diff := cmp.Diff(created, got); diff != "" {
			t.Errorf("GetAPIToken(%q) differs from what CreateAPIToken returned (-want +got):\n%s", created.ID, diff)
		}
	})
}

func testAPITokenCreateRefused(t *testing.T, s store.Store) {
	ann := createUser(t, s, user("ann", local))
	tk := createToken(t, s, token(ann.ID, "h", 0))
	sameID := token(ann.ID, "h-other", 1)
	sameID.ID = tk.ID
	missing := uuid.NewString()
	tests := []struct {
		name string
		in   store.APIToken
		kind error
		msg  string
	}{
		{"taken id", sameID, store.ErrConflict, fmt.Sprintf("api token %q already exists", tk.ID)},
		{"taken key hash", token(ann.ID, "h", 2), store.ErrConflict, "another api token has the same key"},
		{"missing owner", token(missing, "h-new", 3), store.ErrInvalid, fmt.Sprintf("owner %q does not exist", missing)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateAPIToken(t.Context(), tt.in)
			checkErr(t, "CreateAPIToken", err, tt.kind, tt.msg)
		})
	}
	list, err := s.ListAPITokens(t.Context(), "")
	must(t, "ListAPITokens", err)
	if diff := cmp.Diff([]store.APIToken{tk}, list); diff != "" {
		t.Errorf("ListAPITokens(%q) after refused creates (-want +got):\n%s", "", diff)
	}
}

func testAPITokenNotFound(t *testing.T, s store.Store) {
	ann := createUser(t, s, user("ann", local))
	createToken(t, s, token(ann.ID, "h", 0))
	id := uuid.NewString()
	msg := fmt.Sprintf("api token %q not found", id)
	tests := []struct {
		name string
		call func() error
		msg  string
	}{
		{"GetAPIToken", func() error { _, err := s.GetAPIToken(t.Context(), id); return err }, msg},
		{"GetAPITokenByHash", func() error { _, err := s.GetAPITokenByHash(t.Context(), "h-unknown"); return err },
			"api token not found"},
		{"UpdateAPIToken", func() error {
			tk := token(ann.ID, "h", 0)
			tk.ID = id
			_, err := s.UpdateAPIToken(t.Context(), tk)
			return err
		}, msg},
		{"DeleteAPIToken", func() error { return s.DeleteAPIToken(t.Context(), id) }, msg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.name, tt.call(), store.ErrNotFound, tt.msg)
		})
	}
}

func testAPITokenList(t *testing.T, s store.Store) {
	empty, err := s.ListAPITokens(t.Context(), "")
	must(t, "ListAPITokens", err)
	if empty == nil || len(empty) != 0 {
		t.Errorf("ListAPITokens(\"\") of an empty store = %#v, want an empty list", empty)
	}
	ann := createUser(t, s, user("ann", local))
	bob := createUser(t, s, user("bob", local))
	carl := createUser(t, s, user("carl", local))
	a3 := createToken(t, s, token(ann.ID, "a3", 3))
	b1 := createToken(t, s, token(bob.ID, "b1", 1))
	a2 := createToken(t, s, token(ann.ID, "a2", 2))
	a0 := createToken(t, s, token(ann.ID, "a0", 0))
	tests := []struct {
		name  string
		owner string
		want  []store.APIToken
	}{
		{"every token", "", []store.APIToken{a0, b1, a2, a3}},
		{"one owner's", ann.ID, []store.APIToken{a0, a2, a3}},
		{"another owner's", bob.ID, []store.APIToken{b1}},
		{"an owner without tokens", carl.ID, []store.APIToken{}},
		{"an unknown owner", uuid.NewString(), []store.APIToken{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListAPITokens(t.Context(), tt.owner)
			must(t, "ListAPITokens", err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ListAPITokens(%q) (-want +got):\n%s", tt.owner, diff)
			}
		})
	}
}

func testAPITokenUpdate(t *testing.T, s store.Store) {
	ann := createUser(t, s, user("ann", local))
	bob := createUser(t, s, user("bob", local))
	tk := createToken(t, s, token(ann.ID, "h", 0))

	steps := []struct {
		name string
		in   store.APIToken // ID is tk's
		want func(store.APIToken) store.APIToken
	}{
		{"disable with an expiry", store.APIToken{APIToken: api.APIToken{Description: "new", Enabled: ptr(false),
			Expires: ptr(at(100))}},
			func(tk store.APIToken) store.APIToken {
				tk.Description, tk.Enabled, tk.Expires = "new", ptr(false), ptr(at(100))
				return tk
			}},
		{"enable without expiry", store.APIToken{APIToken: api.APIToken{Description: "newer", Enabled: ptr(true)}},
			func(tk store.APIToken) store.APIToken {
				tk.Description, tk.Enabled, tk.Expires = "newer", ptr(true), nil
				return tk
			}},
		{"disabled by an administrator", store.APIToken{APIToken: api.APIToken{Description: "newer", Enabled: ptr(false),
			DisabledByAdmin: true}},
			func(tk store.APIToken) store.APIToken {
				tk.Enabled, tk.DisabledByAdmin = ptr(false), true
				return tk
			}},
		{"enabled again by an administrator", store.APIToken{APIToken: api.APIToken{Description: "newer", Enabled: ptr(true)}},
			func(tk store.APIToken) store.APIToken {
				tk.Enabled, tk.DisabledByAdmin = ptr(true), false
				return tk
			}},
		{"revocation is not set by an update", store.APIToken{APIToken: api.APIToken{Description: "newer", Enabled: ptr(true),
			RevokedAt: ptr(at(7))}},
			func(tk store.APIToken) store.APIToken { return tk }},
		{"owner, key and times are not changed", store.APIToken{APIToken: api.APIToken{Owner: bob.ID, Key: "k",
			Description: "newest", Enabled: ptr(true), CreateTime: at(99)}, KeyHash: "other-hash"},
			func(tk store.APIToken) store.APIToken { tk.Description = "newest"; return tk }},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before, err := s.GetAPIToken(t.Context(), tk.ID)
			must(t, "GetAPIToken", err)
			in := st.in
			in.ID = tk.ID
			updated, err := s.UpdateAPIToken(t.Context(), in)
			must(t, "UpdateAPIToken", err)
			if diff := cmp.Diff(st.want(before), updated, ignoreUpdateTime); diff != "" {
				t.Errorf("UpdateAPIToken(%q) returned (-want +got):\n%s", tk.ID, diff)
			}
			if updated.UpdateTime.Equal(tk.UpdateTime) {
				t.Errorf("UpdateAPIToken(%q).UpdateTime = %v, want the store's now", tk.ID, updated.UpdateTime)
			}
			got, err := s.GetAPITokenByHash(t.Context(), "h")
			must(t, "GetAPITokenByHash", err)
			if diff := cmp.Diff(updated, got); diff != "" {
				t.Errorf("GetAPITokenByHash(%q) differs from what UpdateAPIToken returned (-want +got):\n%s", "h", diff)
			}
		})
	}
}

func testAPITokenDelete(t *testing.T, s store.Store) {
	ann := createUser(t, s, user("ann", local))
	tk := createToken(t, s, token(ann.ID, "h", 0))
	other := createToken(t, s, token(ann.ID, "h-other", 1))
	must(t, "DeleteAPIToken", s.DeleteAPIToken(t.Context(), tk.ID))
	_, err := s.GetAPIToken(t.Context(), tk.ID)
	checkErr(t, "GetAPIToken after delete", err, store.ErrNotFound, "")
	_, err = s.GetAPITokenByHash(t.Context(), "h")
	checkErr(t, "GetAPITokenByHash after delete", err, store.ErrNotFound, "")
	checkErr(t, "DeleteAPIToken again", s.DeleteAPIToken(t.Context(), tk.ID), store.ErrNotFound, "")
	list, err := s.ListAPITokens(t.Context(), ann.ID)
	must(t, "ListAPITokens", err)
	if diff := cmp.Diff([]store.APIToken{other}, list); diff != "" {
		t.Errorf("ListAPITokens(%q) after delete (-want +got):\n%s", ann.ID, diff)
	}
}
