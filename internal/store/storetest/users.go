package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

func user(username, provider string) store.User {
	return store.User{ID: uuid.NewString(), Username: username, Provider: provider,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", CreateTime: at(0)}
}

func testUserRoundTrip(t *testing.T, s store.Store) {
	tests := []struct {
		name string
		u    store.User
	}{
		{"local", user("root", api.ProviderLocal)},
		{"directory user without password", store.User{ID: uuid.NewString(), Username: "CN=Ann,OU=People",
			Provider: api.ProviderActiveDirectory, CreateTime: at(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			must(t, "CreateUser", s.CreateUser(t.Context(), tt.u))
			got, err := s.GetUserByName(t.Context(), tt.u.Provider, tt.u.Username)
			must(t, "GetUserByName", err)
			if diff := cmp.Diff(tt.u, got); diff != "" {
				t.Errorf("GetUserByName(%q, %q) mismatch (-want +got):\n%s", tt.u.Provider, tt.u.Username, diff)
			}
		})
	}
	_, err := s.GetUserByName(t.Context(), api.ProviderLocal, "nobody")
	checkErr(t, `GetUserByName("local", "nobody")`, err, store.ErrNotFound, "")
	_, err = s.GetUserByName(t.Context(), api.ProviderActiveDirectory, "root")
	checkErr(t, `GetUserByName("active_directory", "root")`, err, store.ErrNotFound, "")
}

func testUserUniquePerProvider(t *testing.T, s store.Store) {
	local := user("ann", api.ProviderLocal)
	must(t, "CreateUser", s.CreateUser(t.Context(), local))
	must(t, "CreateUser same name, other provider", s.CreateUser(t.Context(), user("ann", api.ProviderActiveDirectory)))
	checkErr(t, "CreateUser same name and provider", s.CreateUser(t.Context(), user("ann", api.ProviderLocal)), store.ErrConflict, "")
	sameID := user("bob", api.ProviderLocal)
	sameID.ID = local.ID
	checkErr(t, "CreateUser with a taken id", s.CreateUser(t.Context(), sameID), store.ErrConflict, "")
	got, err := s.GetUserByName(t.Context(), api.ProviderLocal, "ann")
	must(t, "GetUserByName", err)
	if got.ID != local.ID {
		t.Errorf("GetUserByName(local, ann).ID = %q after refused creates, want %q", got.ID, local.ID)
	}
}

func testUserSetPassword(t *testing.T, s store.Store) {
	u := user("ann", api.ProviderLocal)
	must(t, "CreateUser", s.CreateUser(t.Context(), u))
	must(t, "CreateUser", s.CreateUser(t.Context(), user("bob", api.ProviderLocal)))
	must(t, "SetPassword", s.SetPassword(t.Context(), u.ID, "new-hash"))
	got, err := s.GetUserByName(t.Context(), api.ProviderLocal, "ann")
	must(t, "GetUserByName", err)
	if got.PasswordHash != "new-hash" {
		t.Errorf("PasswordHash after SetPassword = %q, want %q", got.PasswordHash, "new-hash")
	}
	other, err := s.GetUserByName(t.Context(), api.ProviderLocal, "bob")
	must(t, "GetUserByName", err)
	if other.PasswordHash == "new-hash" {
		t.Errorf("SetPassword(ann) changed bob's hash too")
	}
	checkErr(t, "SetPassword of an unknown id", s.SetPassword(t.Context(), uuid.NewString(), "x"), store.ErrNotFound, "")
}
