package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

const (
	local = api.ProviderLocal
	ad    = api.ProviderActiveDirectory
)

const hash = "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA"

// user returns a user of provider with a password hash, created and updated at(0), whose membership CreateUser
// leaves alone.
func user(username, provider string) store.User {
	return store.User{User: api.User{ID: uuid.NewString(), Username: username, Provider: provider, CreateTime: at(0),
		UpdateTime: at(0)}, PasswordHash: hash}
}

func createUser(t *testing.T, s store.Store, u store.User) store.User {
	t.Helper()
	got, err := s.CreateUser(t.Context(), u)
	must(t, fmt.Sprintf("CreateUser(%q)", u.Username), err)
	return got
}

// ids returns ids sorted, never nil: a list of ids as the store returns it.
func ids(ids ...string) []string {
	s := append([]string{}, ids...)
	slices.Sort(s)
	return s
}

// unsorted returns ids in descending order, so that a store that does not sort them is caught.
func unsorted(ids ...string) []string {
	s := append([]string{}, ids...)
	slices.Sort(s)
	slices.Reverse(s)
	return s
}

func testUserRoundTrip(t *testing.T, s store.Store) {
	ops := createGroup(t, s, group("ops", local))
	dev := createGroup(t, s, group("dev", local))
	people := createGroup(t, s, group("people", ad))

	builtin := user("root", local)
	builtin.Builtin = true
	withPassword := user("pat", local)
	withPassword.Password = "plaintext is never kept"
	inGroups := user("gus", local)
	inGroups.Groups = unsorted(ops.ID, dev.ID)
	directory := store.User{User: api.User{ID: uuid.NewString(), Username: "CN=Ann,OU=People", Provider: ad,
		Groups: []string{people.ID}, CreateTime: at(1), UpdateTime: at(2)}}
	tests := []struct {
		name   string
		in     store.User
		groups []string // want Groups
	}{
		{"local", user("ann", local), []string{}},
		{"built in", builtin, []string{}},
		{"password is not kept", withPassword, []string{}},
		{"groups ordered by id", inGroups, ids(ops.ID, dev.ID)},
		{"directory user without password", directory, []string{people.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.in
			want.Password, want.Groups = "", tt.groups
			created, err := s.CreateUser(t.Context(), tt.in)
			must(t, "CreateUser", err)
			if diff := cmp.Diff(want, created); diff != "" {
				t.Errorf("CreateUser(%q) returned (-want +got):\n%s", tt.in.Username, diff)
			}
			got, err := s.GetUser(t.Context(), tt.in.ID)
			must(t, "GetUser", err)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GetUser(%q) mismatch (-want +got):\n%s", tt.in.ID, diff)
			}
			if got.Groups == nil {
				t.Errorf("GetUser(%q).Groups = nil, want an empty list", tt.in.ID)
			}
			got, err = s.GetUserByName(t.Context(), tt.in.Provider, tt.in.Username)
			must(t, "GetUserByName", err)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GetUserByName(%q, %q) mismatch (-want +got):\n%s", tt.in.Provider, tt.in.Username, diff)
			}
			list, err := s.ListUsers(t.Context())
			must(t, "ListUsers", err)
			i := slices.IndexFunc(list, func(u store.User) bool { return u.ID == tt.in.ID })
			if i < 0 {
				t.Fatalf("ListUsers() lacks user %q", tt.in.Username)
			}
			if diff := cmp.Diff(want, list[i]); diff != "" {
				t.Errorf("ListUsers()[%q] mismatch (-want +got):\n%s", tt.in.Username, diff)
			}
		})
	}
	t.Run("empty id and times are filled", func(t *testing.T) {
		created, err := s.CreateUser(t.Context(), store.User{User: api.User{Username: "zed", Provider: local}})
		must(t, "CreateUser", err)
		if created.ID == "" || created.CreateTime.IsZero() || created.UpdateTime.IsZero() {
			t.Errorf("CreateUser(%q) = id %q, created %v, updated %v; want all set", "zed", created.ID,
				created.CreateTime, created.UpdateTime)
		}
		got, err := s.GetUser(t.Context(), created.ID)
		must(t, "GetUser", err)
		if diff := cmp.Diff(created, got); diff != "" {
			t.Errorf("GetUser(%q) differs from what CreateUser returned (-want +got):\n%s", created.ID, diff)
		}
	})
}

func testUserCreateConflict(t *testing.T, s store.Store) {
	ann := createUser(t, s, user("ann", local))
	createUser(t, s, user("ann", ad)) // the same name with another provider is another user
	sameID := user("bob", local)
	sameID.ID = ann.ID
	tests := []struct {
		name string
		u    store.User
		msg  string
	}{
		{"same name and provider", user("ann", local), `user "ann" of provider "local" already exists`},
		{"taken id", sameID, fmt.Sprintf("user id %q already exists", ann.ID)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateUser(t.Context(), tt.u)
			checkErr(t, fmt.Sprintf("CreateUser(%q)", tt.u.Username), err, store.ErrConflict, tt.msg)
		})
	}
	got, err := s.GetUserByName(t.Context(), local, "ann")
	must(t, "GetUserByName", err)
	if got.ID != ann.ID {
		t.Errorf("GetUserByName(local, ann).ID = %q after refused creates, want %q", got.ID, ann.ID)
	}
	_, err = s.GetUserByName(t.Context(), local, "bob")
	checkErr(t, `GetUserByName("local", "bob") after a refused create`, err, store.ErrNotFound, "")
}

func testUserCreateInvalid(t *testing.T, s store.Store) {
	ops := createGroup(t, s, group("ops", local))
	people := createGroup(t, s, group("people", ad))
	missing := uuid.NewString()
	tests := []struct {
		name   string
		groups []string
		msg    string
	}{
		{"missing group", []string{ops.ID, missing}, fmt.Sprintf("group %q does not exist", missing)},
		{"group of another provider", []string{people.ID},
			`user "ann" of provider "local" cannot join group "people" of provider "active_directory"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := user("ann", local)
			u.Groups = tt.groups
			_, err := s.CreateUser(t.Context(), u)
			checkErr(t, `CreateUser("ann")`, err, store.ErrInvalid, tt.msg)
			_, err = s.GetUser(t.Context(), u.ID)
			checkErr(t, `GetUser after a refused create`, err, store.ErrNotFound, "")
		})
	}
	got, err := s.GetGroup(t.Context(), ops.ID)
	must(t, "GetGroup", err)
	if len(got.UserIDs) != 0 {
		t.Errorf("GetGroup(%q).UserIDs = %v after refused creates, want none", "ops", got.UserIDs)
	}
}

func testUserNotFound(t *testing.T, s store.Store) {
	createUser(t, s, user("ann", local))
	id := uuid.NewString()
	msg := fmt.Sprintf("user %q not found", id)
	tests := []struct {
		name string
		call func() error
		msg  string
	}{
		{"GetUser", func() error { _, err := s.GetUser(t.Context(), id); return err }, msg},
		{"GetUserByName", func() error { _, err := s.GetUserByName(t.Context(), local, "nobody"); return err },
			`user "nobody" of provider "local" not found`},
		{"GetUserByName of another provider", func() error {
			_, err := s.GetUserByName(t.Context(), ad, "ann")
			return err
		}, `user "ann" of provider "active_directory" not found`},
		{"SetPassword", func() error { return s.SetPassword(t.Context(), id, hash) }, msg},
		{"SetUserGroups", func() error { return s.SetUserGroups(t.Context(), id, nil) }, msg},
		{"DeleteUser", func() error { return s.DeleteUser(t.Context(), id) }, msg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.name, tt.call(), store.ErrNotFound, tt.msg)
		})
	}
}

func testUserList(t *testing.T, s store.Store) {
	empty, err := s.ListUsers(t.Context())
	must(t, "ListUsers", err)
	if empty == nil || len(empty) != 0 {
		t.Errorf("ListUsers() of an empty store = %#v, want an empty list", empty)
	}
	for _, u := range []store.User{user("carl", local), user("zed", ad), user("bob", local), user("ann", ad)} {
		createUser(t, s, u)
	}
	list, err := s.ListUsers(t.Context())
	must(t, "ListUsers", err)
	var names []string
	for _, u := range list {
		names = append(names, u.Provider+"/"+u.Username)
	}
	want := []string{"active_directory/ann", "active_directory/zed", "local/bob", "local/carl"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("ListUsers() names (-want +got):\n%s", diff)
	}
}

func testUserSetPassword(t *testing.T, s store.Store) {
	ann := createUser(t, s, user("ann", local))
	bob := createUser(t, s, user("bob", local))
	for i, h := range []string{"new-hash", "newer-hash"} {
		must(t, "SetPassword", s.SetPassword(t.Context(), ann.ID, h))
		got, err := s.GetUser(t.Context(), ann.ID)
		must(t, "GetUser", err)
		if got.PasswordHash != h || got.Generation != int64(i+1) {
			t.Errorf("GetUser(%q) after SetPassword #%d = hash %q, generation %d; want %q, %d", "ann", i+1,
				got.PasswordHash, got.Generation, h, i+1)
		}
	}
	got, err := s.GetUser(t.Context(), bob.ID)
	must(t, "GetUser", err)
	if diff := cmp.Diff(bob, got); diff != "" {
		t.Errorf("GetUser(%q) after another user's SetPassword changed (-want +got):\n%s", "bob", diff)
	}
}

func testUserDelete(t *testing.T, s store.Store) {
	ops := createGroup(t, s, group("ops", local))
	dev := createGroup(t, s, group("dev", local))
	ann := user("ann", local)
	ann.Groups = []string{ops.ID, dev.ID}
	ann = createUser(t, s, ann)
	bob := createUser(t, s, user("bob", local))
	root := user("root", local)
	root.Builtin = true
	root = createUser(t, s, root)
	annToken := createToken(t, s, token(ann.ID, "hash-ann", 0))
	bobToken := createToken(t, s, token(bob.ID, "hash-bob", 1))

	refused := []struct {
		name string
		id   string
		msg  string
	}{
		{"in groups", ann.ID, `user "ann" is in 2 groups`},
		{"built in", root.ID, `user "root" is built in and cannot be deleted`},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, fmt.Sprintf("DeleteUser(%q)", tt.id), s.DeleteUser(t.Context(), tt.id), store.ErrConflict, tt.msg)
			if _, err := s.GetUser(t.Context(), tt.id); err != nil {
				t.Errorf("GetUser(%q) after a refused delete: %v", tt.id, err)
			}
		})
	}
	if _, err := s.GetAPIToken(t.Context(), annToken.ID); err != nil {
		t.Errorf("GetAPIToken(%q) after a refused delete of its owner: %v", annToken.ID, err)
	}

	must(t, "SetUserGroups", s.SetUserGroups(t.Context(), ann.ID, nil))
	must(t, "DeleteUser", s.DeleteUser(t.Context(), ann.ID))
	_, err := s.GetUser(t.Context(), ann.ID)
	checkErr(t, "GetUser after delete", err, store.ErrNotFound, "")
	_, err = s.GetAPIToken(t.Context(), annToken.ID)
	checkErr(t, "GetAPIToken of a deleted user's token", err, store.ErrNotFound, "")
	if _, err := s.GetAPIToken(t.Context(), bobToken.ID); err != nil {
		t.Errorf("GetAPIToken(%q) of another user after delete: %v", bobToken.ID, err)
	}
	checkErr(t, "DeleteUser again", s.DeleteUser(t.Context(), ann.ID), store.ErrNotFound, "")
	// The name is free again.
	createUser(t, s, user("ann", local))
}
