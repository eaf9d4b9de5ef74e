package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// group returns a group of provider created and updated at(0), whose members CreateGroup leaves alone.
func group(name, provider string) api.Group {
	return api.Group{ID: uuid.NewString(), Name: name, Provider: provider, CreateTime: at(0), UpdateTime: at(0)}
}

func createGroup(t *testing.T, s store.Store, g api.Group) api.Group {
	t.Helper()
	got, err := s.CreateGroup(t.Context(), g)
	must(t, fmt.Sprintf("CreateGroup(%q)", g.Name), err)
	return got
}

// ignoreUpdateTime compares objects an update has just stamped with the store's clock.
var ignoreUpdateTime = cmp.Options{
	cmpopts.IgnoreFields(api.Group{}, "UpdateTime"),
	cmpopts.IgnoreFields(api.Role{}, "UpdateTime"),
	cmpopts.IgnoreFields(api.RoleBinding{}, "UpdateTime"),
	cmpopts.IgnoreFields(api.APIToken{}, "UpdateTime"),
}

func testGroupRoundTrip(t *testing.T, s store.Store) {
	alice := createUser(t, s, user("alice", local))
	bob := createUser(t, s, user("bob", local))
	dora := createUser(t, s, user("dora", ad))

	members := group("ops", local)
	members.UserIDs = unsorted(bob.ID, alice.ID)
	directory := group("people", ad)
	directory.UserIDs = []string{dora.ID}
	builtin := group("Admins", local)
	builtin.Builtin = true
	roles := group("dev", local)
	roles.RoleIDs = []string{uuid.NewString()}
	tests := []struct {
		name    string
		in      api.Group
		members []string
	}{
		{"no members", group("empty", local), []string{}},
		{"members ordered by id", members, ids(alice.ID, bob.ID)},
		{"directory group", directory, []string{dora.ID}},
		{"built in", builtin, []string{}},
		{"role ids are ignored", roles, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.in
			want.UserIDs, want.RoleIDs = tt.members, []string{}
			created, err := s.CreateGroup(t.Context(), tt.in)
			must(t, "CreateGroup", err)
			if diff := cmp.Diff(want, created); diff != "" {
				t.Errorf("CreateGroup(%q) returned (-want +got):\n%s", tt.in.Name, diff)
			}
			got, err := s.GetGroup(t.Context(), tt.in.ID)
			must(t, "GetGroup", err)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GetGroup(%q) mismatch (-want +got):\n%s", tt.in.ID, diff)
			}
			if got.UserIDs == nil || got.RoleIDs == nil {
				t.Errorf("GetGroup(%q) = UserIDs %#v, RoleIDs %#v; want empty lists, not nil", tt.in.ID, got.UserIDs, got.RoleIDs)
			}
			got, err = s.GetGroupByName(t.Context(), tt.in.Provider, tt.in.Name)
			must(t, "GetGroupByName", err)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GetGroupByName(%q, %q) mismatch (-want +got):\n%s", tt.in.Provider, tt.in.Name, diff)
			}
			list, err := s.ListGroups(t.Context())
			must(t, "ListGroups", err)
			i := slices.IndexFunc(list, func(g api.Group) bool { return g.ID == tt.in.ID })
			if i < 0 {
				t.Fatalf("ListGroups() lacks group %q", tt.in.Name)
			}
			if diff := cmp.Diff(want, list[i]); diff != "" {
				t.Errorf("ListGroups()[%q] mismatch (-want +got):\n%s", tt.in.Name, diff)
			}
		})
	}
	t.Run("empty id and times are filled", func(t *testing.T) {
		created, err := s.CreateGroup(t.Context(), api.Group{Name: "zed", Provider: local})
		must(t, "CreateGroup", err)
		if created.ID == "" || created.CreateTime.IsZero() || created.UpdateTime.IsZero() {
			t.Errorf("CreateGroup(%q) = id %q, created %v, updated %v; want all set", "zed", created.ID,
				created.CreateTime, created.UpdateTime)
		}
		got, err := s.GetGroup(t.Context(), created.ID)
		must(t, "GetGroup", err)
		if diff := cmp.Diff(created, got); diff != "" {
			t.Errorf("GetGroup(%q) differs from what CreateGroup returned (-want +got):\n%s", created.ID, diff)
		}
	})
}

func testGroupCreateConflict(t *testing.T, s store.Store) {
	ops := createGroup(t, s, group("ops", local))
	createGroup(t, s, group("ops", ad)) // the same name with another provider is another group
	sameID := group("dev", local)
	sameID.ID = ops.ID
	tests := []struct {
		name string
		g    api.Group
		msg  string
	}{
		{"same name and provider", group("ops", local), `group "ops" of provider "local" already exists`},
		{"taken id", sameID, fmt.Sprintf("group id %q already exists", ops.ID)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateGroup(t.Context(), tt.g)
			checkErr(t, fmt.Sprintf("CreateGroup(%q)", tt.g.Name), err, store.ErrConflict, tt.msg)
		})
	}
	_, err := s.GetGroupByName(t.Context(), local, "dev")
	checkErr(t, `GetGroupByName("local", "dev") after a refused create`, err, store.ErrNotFound, "")
}

func testGroupCreateInvalid(t *testing.T, s store.Store) {
	alice := createUser(t, s, user("alice", local))
	dora := createUser(t, s, user("dora", ad))
	missing := uuid.NewString()
	tests := []struct {
		name    string
		members []string
		msg     string
	}{
		{"missing user", []string{alice.ID, missing}, fmt.Sprintf("user %q does not exist", missing)},
		{"user of another provider", []string{dora.ID},
			`user "dora" of provider "active_directory" cannot join group "ops" of provider "local"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := group("ops", local)
			g.UserIDs = tt.members
			_, err := s.CreateGroup(t.Context(), g)
			checkErr(t, `CreateGroup("ops")`, err, store.ErrInvalid, tt.msg)
			_, err = s.GetGroup(t.Context(), g.ID)
			checkErr(t, "GetGroup after a refused create", err, store.ErrNotFound, "")
		})
	}
	got, err := s.GetUser(t.Context(), alice.ID)
	must(t, "GetUser", err)
	if len(got.Groups) != 0 {
		t.Errorf("GetUser(%q).Groups = %v after refused creates, want none", "alice", got.Groups)
	}
}

func testGroupNotFound(t *testing.T, s store.Store) {
	createGroup(t, s, group("ops", local))
	id := uuid.NewString()
	msg := fmt.Sprintf("group %q not found", id)
	tests := []struct {
		name string
		call func() error
		msg  string
	}{
		{"GetGroup", func() error { _, err := s.GetGroup(t.Context(), id); return err }, msg},
		{"GetGroupByName", func() error { _, err := s.GetGroupByName(t.Context(), local, "nope"); return err },
			`group "nope" of provider "local" not found`},
		{"GetGroupByName of another provider", func() error {
			_, err := s.GetGroupByName(t.Context(), ad, "ops")
			return err
		}, `group "ops" of provider "active_directory" not found`},
		{"UpdateGroup", func() error {
			_, err := s.UpdateGroup(t.Context(), api.Group{ID: id, Name: "x", Provider: local})
			return err
		}, msg},
		{"DeleteGroup", func() error { return s.DeleteGroup(t.Context(), id) }, msg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.name, tt.call(), store.ErrNotFound, tt.msg)
		})
	}
}

func testGroupList(t *testing.T, s store.Store) {
	empty, err := s.ListGroups(t.Context())
	must(t, "ListGroups", err)
	if empty == nil || len(empty) != 0 {
		t.Errorf("ListGroups() of an empty store = %#v, want an empty list", empty)
	}
	for _, g := range []api.Group{group("ops", local), group("zed", ad), group("dev", local), group("ann", ad)} {
		createGroup(t, s, g)
	}
	list, err := s.ListGroups(t.Context())
	must(t, "ListGroups", err)
	var names []string
	for _, g := range list {
		names = append(names, g.Provider+"/"+g.Name)
	}
	want := []string{"active_directory/ann", "active_directory/zed", "local/dev", "local/ops"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("ListGroups() names (-want +got):\n%s", diff)
	}
}

func testGroupUpdate(t *testing.T, s store.Store) {
	alice := createUser(t, s, user("alice", local))
	bob := createUser(t, s, user("bob", local))
	carl := createUser(t, s, user("carl", local))
	dora := createUser(t, s, user("dora", ad))
	g := group("ops", local)
	g.UserIDs = []string{alice.ID}
	g = createGroup(t, s, g)
	createGroup(t, s, group("dev", local))
	missing := uuid.NewString()

	// Each step updates the group as left by the steps before; a refused update leaves it as it was.
	steps := []struct {
		name    string
		in      api.Group
		want    func(g api.Group) api.Group // from the group before the step
		kind    error
		wantMsg string
	}{
		{"rename keeps members", api.Group{Name: "ops-2", Provider: local},
			func(g api.Group) api.Group { g.Name = "ops-2"; return g }, nil, ""},
		{"replace members", api.Group{Name: "ops-2", Provider: local, UserIDs: unsorted(carl.ID, bob.ID)},
			func(g api.Group) api.Group { g.UserIDs = ids(bob.ID, carl.ID); return g }, nil, ""},
		{"provider and role ids are ignored", api.Group{Name: "ops-2", Provider: ad, RoleIDs: []string{missing}},
			func(g api.Group) api.Group { return g }, nil, ""},
		{"name taken", api.Group{Name: "dev", Provider: local}, nil, store.ErrConflict,
			`group "dev" of provider "local" already exists`},
		{"missing member", api.Group{Name: "ops-3", Provider: local, UserIDs: []string{alice.ID, missing}}, nil,
			store.ErrInvalid, fmt.Sprintf("user %q does not exist", missing)},
		{"member of another provider", api.Group{Name: "ops-3", Provider: local, UserIDs: []string{dora.ID}}, nil,
			store.ErrInvalid, `user "dora" of provider "active_directory" cannot join group "ops-3" of provider "local"`},
		{"clear members", api.Group{Name: "ops-2", Provider: local, UserIDs: []string{}},
			func(g api.Group) api.Group { g.UserIDs = []string{}; return g }, nil, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before, err := s.GetGroup(t.Context(), g.ID)
			must(t, "GetGroup", err)
			in := st.in
			in.ID = g.ID
			updated, err := s.UpdateGroup(t.Context(), in)
			if st.kind != nil {
				checkErr(t, fmt.Sprintf("UpdateGroup(%q)", in.Name), err, st.kind, st.wantMsg)
				got, err := s.GetGroup(t.Context(), g.ID)
				must(t, "GetGroup", err)
				if diff := cmp.Diff(before, got); diff != "" {
					t.Errorf("GetGroup after a refused update changed (-want +got):\n%s", diff)
				}
				return
			}
			must(t, "UpdateGroup", err)
			want := st.want(before)
			if diff := cmp.Diff(want, updated, ignoreUpdateTime); diff != "" {
				t.Errorf("UpdateGroup(%q) returned (-want +got):\n%s", in.Name, diff)
			}
			if updated.UpdateTime.Equal(at(0)) {
				t.Errorf("UpdateGroup(%q).UpdateTime = %v, want the store's now", in.Name, updated.UpdateTime)
			}
			got, err := s.GetGroup(t.Context(), g.ID)
			must(t, "GetGroup", err)
			if diff := cmp.Diff(updated, got); diff != "" {
				t.Errorf("GetGroup(%q) differs from what UpdateGroup returned (-want +got):\n%s", g.ID, diff)
			}
		})
	}
}

func testGroupUpdateBuiltin(t *testing.T, s store.Store) {
	alice := createUser(t, s, user("alice", local))
	admins := group("Admins", local)
	admins.Builtin = true
	admins = createGroup(t, s, admins)

	_, err := s.UpdateGroup(t.Context(), api.Group{ID: admins.ID, Name: "Admins-2", Provider: local})
	checkErr(t, `UpdateGroup("Admins") renaming`, err, store.ErrConflict, `group "Admins" is built in and cannot be renamed`)
	updated, err := s.UpdateGroup(t.Context(), api.Group{ID: admins.ID, Name: "Admins", Provider: local,
		UserIDs: []string{alice.ID}})
	must(t, "UpdateGroup of a built-in group's members", err)
	want := admins
	want.UserIDs = []string{alice.ID}
	if diff := cmp.Diff(want, updated, ignoreUpdateTime); diff != "" {
		t.Errorf("UpdateGroup(%q) of members returned (-want +got):\n%s", "Admins", diff)
	}
}

func testGroupDelete(t *testing.T, s store.Store) {
	alice := createUser(t, s, user("alice", local))
	bob := createUser(t, s, user("bob", local))
	ops := group("ops", local)
	ops.UserIDs = []string{bob.ID, alice.ID}
	ops = createGroup(t, s, ops)
	dev := group("dev", local)
	dev.UserIDs = []string{alice.ID}
	dev = createGroup(t, s, dev)
	bound := createGroup(t, s, group("bound", local))
	admins := group("Admins", local)
	admins.Builtin = true
	admins = createGroup(t, s, admins)
	r := createRole(t, s, role("reader"))
	w := createRole(t, s, role("writer"))
	b2 := createBinding(t, s, binding("b2", r.ID, ops.ID))
	b1 := createBinding(t, s, binding("b1", w.ID, ops.ID))
	createBinding(t, s, binding("b3", r.ID, bound.ID))

	refused := []struct {
		name string
		id   string
		msg  string
	}{
		{"members and bindings", ops.ID, `group "ops" has 2 members and 2 role bindings`},
		{"members", dev.ID, `group "dev" has 1 member`},
		{"bindings", bound.ID, `group "bound" has 1 role binding`},
		{"built in", admins.ID, `group "Admins" is built in and cannot be deleted`},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, fmt.Sprintf("DeleteGroup(%q)", tt.id), s.DeleteGroup(t.Context(), tt.id), store.ErrConflict, tt.msg)
			if _, err := s.GetGroup(t.Context(), tt.id); err != nil {
				t.Errorf("GetGroup(%q) after a refused delete: %v", tt.id, err)
			}
		})
	}

	_, err := s.UpdateGroup(t.Context(), api.Group{ID: ops.ID, Name: "ops", UserIDs: []string{}})
	must(t, "UpdateGroup", err)
	checkErr(t, `DeleteGroup("ops") without members`, s.DeleteGroup(t.Context(), ops.ID), store.ErrConflict,
		`group "ops" has 2 role bindings`)
	must(t, "DeleteRoleBinding", s.DeleteRoleBinding(t.Context(), b1.ID))
	must(t, "DeleteRoleBinding", s.DeleteRoleBinding(t.Context(), b2.ID))
	must(t, "DeleteGroup", s.DeleteGroup(t.Context(), ops.ID))
	_, err = s.GetGroup(t.Context(), ops.ID)
	checkErr(t, "GetGroup after delete", err, store.ErrNotFound, "")
	checkErr(t, "DeleteGroup again", s.DeleteGroup(t.Context(), ops.ID), store.ErrNotFound, "")
	got, err := s.GetUser(t.Context(), alice.ID)
	must(t, "GetUser", err)
	if diff := cmp.Diff([]string{dev.ID}, got.Groups); diff != "" {
		t.Errorf("GetUser(%q).Groups after its group was deleted (-want +got):\n%s", "alice", diff)
	}
	// The name is free again.
	createGroup(t, s, group("ops", local))
}

func testGroupRoleIDs(t *testing.T, s store.Store) {
	ops := createGroup(t, s, group("ops", local))
	dev := createGroup(t, s, group("dev", local))
	r1 := createRole(t, s, role("r1"))
	r2 := createRole(t, s, role("r2"))
	b := createBinding(t, s, binding("b-ops-1", r1.ID, ops.ID))
	createBinding(t, s, binding("b-ops-2", r2.ID, ops.ID))
	createBinding(t, s, binding("b-dev-1", r1.ID, dev.ID))

	check := func(when string, want map[string][]string) {
		t.Helper()
		for id, roles := range want {
			g, err := s.GetGroup(t.Context(), id)
			must(t, "GetGroup", err)
			if diff := cmp.Diff(roles, g.RoleIDs); diff != "" {
				t.Errorf("GetGroup(%q).RoleIDs %s (-want +got):\n%s", g.Name, when, diff)
			}
		}
		list, err := s.ListGroups(t.Context())
		must(t, "ListGroups", err)
		for _, g := range list {
			if diff := cmp.Diff(want[g.ID], g.RoleIDs); diff != "" {
				t.Errorf("ListGroups()[%q].RoleIDs %s (-want +got):\n%s", g.Name, when, diff)
			}
		}
	}
	check("after binding", map[string][]string{ops.ID: ids(r1.ID, r2.ID), dev.ID: {r1.ID}})
	must(t, "DeleteRoleBinding", s.DeleteRoleBinding(t.Context(), b.ID))
	check("after unbinding", map[string][]string{ops.ID: {r2.ID}, dev.ID: {r1.ID}})
}
