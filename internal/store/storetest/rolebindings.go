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

// binding returns a binding of role to group created and updated at(0).
func binding(name, roleID, groupID string) api.RoleBinding {
	return api.RoleBinding{ID: uuid.NewString(), Name: name, RoleID: roleID, GroupID: groupID, CreateTime: at(0),
		UpdateTime: at(0)}
}

func createBinding(t *testing.T, s store.Store, b api.RoleBinding) api.RoleBinding {
	t.Helper()
	got, err := s.CreateRoleBinding(t.Context(), b)
	must(t, fmt.Sprintf("CreateRoleBinding(%q)", b.Name), err)
	return got
}

// bound is b as the store returns it: with the names of its role r and group g.
func bound(b api.RoleBinding, r api.Role, g api.Group) api.RoleBinding {
	b.RoleName, b.SubjectKind, b.SubjectProvider, b.SubjectName, b.SubjectID = r.Name, api.SubjectKindGroups,
		g.Provider, g.Name, g.ID
	return b
}

func testRoleBindingRoundTrip(t *testing.T, s store.Store) {
	ops := createGroup(t, s, group("ops", local))
	people := createGroup(t, s, group("people", ad))
	reader := createRole(t, s, role("reader"))
	writer := createRole(t, s, role("writer"))

	builtin := binding("admins", writer.ID, ops.ID)
	builtin.Builtin = true
	names := binding("names", writer.ID, people.ID)
	names.RoleName, names.SubjectKind, names.SubjectProvider, names.SubjectName, names.SubjectID = "bogus", "users",
		local, "bogus", uuid.NewString()
	tests := []struct {
		name  string
		in    api.RoleBinding
		role  api.Role
		group api.Group
	}{
		{"local group", binding("ops-readers", reader.ID, ops.ID), reader, ops},
		{"directory group", binding("people-readers", reader.ID, people.ID), reader, people},
		{"built in", builtin, writer, ops},
		{"name fields are ignored", names, writer, people},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := bound(tt.in, tt.role, tt.group)
			created, err := s.CreateRoleBinding(t.Context(), tt.in)
			must(t, "CreateRoleBinding", err)
			if diff := cmp.Diff(want, created); diff != "" {
				t.Errorf("CreateRoleBinding(%q) returned (-want +got):\n%s", tt.in.Name, diff)
			}
			got, err := s.GetRoleBinding(t.Context(), tt.in.ID)
			must(t, "GetRoleBinding", err)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GetRoleBinding(%q) mismatch (-want +got):\n%s", tt.in.ID, diff)
			}
			list, err := s.ListRoleBindings(t.Context())
			must(t, "ListRoleBindings", err)
			found := false
			for _, b := range list {
				if b.ID == tt.in.ID {
					found = true
					if diff := cmp.Diff(want, b); diff != "" {
						t.Errorf("ListRoleBindings()[%q] mismatch (-want +got):\n%s", tt.in.Name, diff)
					}
				}
			}
			if !found {
				t.Errorf("ListRoleBindings() lacks binding %q", tt.in.Name)
			}
		})
	}
	t.Run("empty id and times are filled", func(t *testing.T) {
		b := binding("zed", createRole(t, s, role("zed")).ID, ops.ID)
		b.ID, b.CreateTime, b.UpdateTime = "", time.Time{}, time.Time{}
		created, err := s.CreateRoleBinding(t.Context(), b)
		must(t, "CreateRoleBinding", err)
		if created.ID == "" || created.CreateTime.IsZero() || created.UpdateTime.IsZero() {
			t.Errorf("CreateRoleBinding(%q) = id %q, created %v, updated %v; want all set", "zed", created.ID,
				created.CreateTime, created.UpdateTime)
		}
		got, err := s.GetRoleBinding(t.Context(), created.ID)
		must(t, "GetRoleBinding", err)
		if diff := cmp.Diff(created, got); diff != "" {
			t.Errorf("GetRoleBinding(%q) differs from what CreateRoleBinding returned (-want +got):\n%s", created.ID, diff)
		}
	})
}

func testRoleBindingCreateConflict(t *testing.T, s store.Store) {
	ops := createGroup(t, s, group("ops", local))
	dev := createGroup(t, s, group("dev", local))
	reader := createRole(t, s, role("reader"))
	writer := createRole(t, s, role("writer"))
	b := createBinding(t, s, binding("b", reader.ID, ops.ID))
	sameID := binding("other", writer.ID, dev.ID)
	sameID.ID = b.ID
	tests := []struct {
		name string
		b    api.RoleBinding
		msg  string
	}{
		{"same name", binding("b", writer.ID, dev.ID), `role binding "b" already exists`},
		{"taken id", sameID, fmt.Sprintf("role binding id %q already exists", b.ID)},
		{"role already bound to the group", binding("b-again", reader.ID, ops.ID),
			`role "reader" is already bound to group "ops" by another role binding`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateRoleBinding(t.Context(), tt.b)
			checkErr(t, fmt.Sprintf("CreateRoleBinding(%q)", tt.b.Name), err, store.ErrConflict, tt.msg)
		})
	}
	list, err := s.ListRoleBindings(t.Context())
	must(t, "ListRoleBindings", err)
	if diff := cmp.Diff([]api.RoleBinding{b}, list); diff != "" {
		t.Errorf("ListRoleBindings() after refused creates (-want +got):\n%s", diff)
	}
	// The same role may be bound to another group, and another role to the same group.
	createBinding(t, s, binding("b-dev", reader.ID, dev.ID))
	createBinding(t, s, binding("b-writer", writer.ID, ops.ID))
}

func testRoleBindingInvalid(t *testing.T, s store.Store) {
	ops := createGroup(t, s, group("ops", local))
	reader := createRole(t, s, role("reader"))
	existing := createBinding(t, s, binding("existing", reader.ID, ops.ID))
	missing := uuid.NewString()
	tests := []struct {
		name    string
		roleID  string
		groupID string
		msg     string
	}{
		{"missing role", missing, ops.ID, fmt.Sprintf("role %q does not exist", missing)},
		{"missing group", reader.ID, missing, fmt.Sprintf("group %q does not exist", missing)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := binding("new", tt.roleID, tt.groupID)
			_, err := s.CreateRoleBinding(t.Context(), b)
			checkErr(t, "CreateRoleBinding", err, store.ErrInvalid, tt.msg)
			_, err = s.GetRoleBinding(t.Context(), b.ID)
			checkErr(t, "GetRoleBinding after a refused create", err, store.ErrNotFound, "")

			_, err = s.UpdateRoleBinding(t.Context(), api.RoleBinding{ID: existing.ID, Name: "existing",
				RoleID: tt.roleID, GroupID: tt.groupID})
			checkErr(t, "UpdateRoleBinding", err, store.ErrInvalid, tt.msg)
			got, err := s.GetRoleBinding(t.Context(), existing.ID)
			must(t, "GetRoleBinding", err)
			if diff := cmp.Diff(existing, got); diff != "" {
				t.Errorf("GetRoleBinding after a refused update changed (-want +got):\n%s", diff)
			}
		})
	}
}

func testRoleBindingNotFound(t *testing.T, s store.Store) {
	ops := createGroup(t, s, group("ops", local))
	reader := createRole(t, s, role("reader"))
	createBinding(t, s, binding("b", reader.ID, ops.ID))
	id := uuid.NewString()
	msg := fmt.Sprintf("role binding %q not found", id)
	tests := []struct {
		name string
		call func() error
	}{
		{"GetRoleBinding", func() error { _, err := s.GetRoleBinding(t.Context(), id); return err }},
		{"UpdateRoleBinding", func() error {
			b := binding("x", reader.ID, ops.ID)
			b.ID = id
			_, err := s.UpdateRoleBinding(t.Context(), b)
			return err
		}},
		{"DeleteRoleBinding", func() error { return s.DeleteRoleBinding(t.Context(), id) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.name, tt.call(), store.ErrNotFound, msg)
		})
	}
}

func testRoleBindingList(t *testing.T, s store.Store) {
	empty, err := s.ListRoleBindings(t.Context())
	must(t, "ListRoleBindings", err)
	if empty == nil || len(empty) != 0 {
		t.Errorf("ListRoleBindings() of an empty store = %#v, want an empty list", empty)
	}
	reader := createRole(t, s, role("reader"))
	for _, n := range []string{"charlie", "alpha", "bravo", "alpha-2"} {
		g := createGroup(t, s, group("group-"+n, local))
		createBinding(t, s, binding(n, reader.ID, g.ID))
	}
	list, err := s.ListRoleBindings(t.Context())
	must(t, "ListRoleBindings", err)
	var names []string
	for _, b := range list {
		names = append(names, b.Name)
	}
	if diff := cmp.Diff([]string{"alpha", "alpha-2", "bravo", "charlie"}, names); diff != "" {
		t.Errorf("ListRoleBindings() names (-want +got):\n%s", diff)
	}
}

func testRoleBindingUpdate(t *testing.T, s store.Store) {
	ops := createGroup(t, s, group("ops", local))
	people := createGroup(t, s, group("people", ad))
	reader := createRole(t, s, role("reader"))
	writer := createRole(t, s, role("writer"))
	b := createBinding(t, s, binding("b", reader.ID, ops.ID))
	other := createBinding(t, s, binding("other", writer.ID, people.ID))
	builtin := binding("admins", writer.ID, ops.ID)
	builtin.Builtin = true
	builtin = createBinding(t, s, builtin)

	changed := api.RoleBinding{ID: b.ID, Name: "b-2", RoleID: writer.ID, GroupID: ops.ID, RoleName: "bogus",
		CreateTime: at(50)}
	_, err := s.UpdateRoleBinding(t.Context(), changed)
	checkErr(t, `UpdateRoleBinding("b") to a bound pair`, err, store.ErrConflict,
		`role "writer" is already bound to group "ops" by another role binding`)
	changed.GroupID = people.ID
	_, err = s.UpdateRoleBinding(t.Context(), changed)
	checkErr(t, `UpdateRoleBinding("b") to another bound pair`, err, store.ErrConflict,
		`role "writer" is already bound to group "people" by another role binding`)
	must(t, "DeleteRoleBinding", s.DeleteRoleBinding(t.Context(), other.ID))

	updated, err := s.UpdateRoleBinding(t.Context(), changed)
	must(t, "UpdateRoleBinding", err)
	want := bound(api.RoleBinding{ID: b.ID, Name: "b-2", RoleID: writer.ID, GroupID: people.ID,
		CreateTime: b.CreateTime}, writer, people)
	if diff := cmp.Diff(want, updated, ignoreUpdateTime); diff != "" {
		t.Errorf("UpdateRoleBinding(%q) returned (-want +got):\n%s", b.ID, diff)
	}
	if updated.UpdateTime.Equal(b.UpdateTime) {
		t.Errorf("UpdateRoleBinding(%q).UpdateTime = %v, want the store's now", b.ID, updated.UpdateTime)
	}
	got, err := s.GetRoleBinding(t.Context(), b.ID)
	must(t, "GetRoleBinding", err)
	if diff := cmp.Diff(updated, got); diff != "" {
		t.Errorf("GetRoleBinding(%q) differs from what UpdateRoleBinding returned (-want +got):\n%s", b.ID, diff)
	}
	// Keeping its own role and group is no conflict with itself.
	if _, err := s.UpdateRoleBinding(t.Context(), api.RoleBinding{ID: b.ID, Name: "b-3", RoleID: writer.ID,
		GroupID: people.ID}); err != nil {
		t.Errorf("UpdateRoleBinding(%q) renaming only: %v", b.ID, err)
	}

	refused := []struct {
		name string
		b    api.RoleBinding
		msg  string
	}{
		{"name taken", api.RoleBinding{ID: b.ID, Name: "admins", RoleID: reader.ID, GroupID: ops.ID},
			`role binding "admins" already exists`},
		{"built in", api.RoleBinding{ID: builtin.ID, Name: "admins", RoleID: reader.ID, GroupID: people.ID},
			`role binding "admins" is built in and cannot be changed`},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			before, err := s.GetRoleBinding(t.Context(), tt.b.ID)
			must(t, "GetRoleBinding", err)
			_, err = s.UpdateRoleBinding(t.Context(), tt.b)
			checkErr(t, fmt.Sprintf("UpdateRoleBinding(%q)", tt.b.Name), err, store.ErrConflict, tt.msg)
			got, err := s.GetRoleBinding(t.Context(), tt.b.ID)
			must(t, "GetRoleBinding", err)
			if diff := cmp.Diff(before, got); diff != "" {
				t.Errorf("GetRoleBinding(%q) after a refused update changed (-want +got):\n%s", tt.b.ID, diff)
			}
		})
	}
}

func testRoleBindingDelete(t *testing.T, s store.Store) {
	ops := createGroup(t, s, group("ops", local))
	reader := createRole(t, s, role("reader"))
	writer := createRole(t, s, role("writer"))
	b := createBinding(t, s, binding("b", reader.ID, ops.ID))
	builtin := binding("admins", writer.ID, ops.ID)
	builtin.Builtin = true
	builtin = createBinding(t, s, builtin)

	checkErr(t, `DeleteRoleBinding("admins")`, s.DeleteRoleBinding(t.Context(), builtin.ID), store.ErrConflict,
		`role binding "admins" is built in and cannot be deleted`)
	if _, err := s.GetRoleBinding(t.Context(), builtin.ID); err != nil {
		t.Errorf("GetRoleBinding(%q) after a refused delete: %v", builtin.ID, err)
	}
	must(t, "DeleteRoleBinding", s.DeleteRoleBinding(t.Context(), b.ID))
	_, err := s.GetRoleBinding(t.Context(), b.ID)
	checkErr(t, "GetRoleBinding after delete", err, store.ErrNotFound, "")
	checkErr(t, "DeleteRoleBinding again", s.DeleteRoleBinding(t.Context(), b.ID), store.ErrNotFound, "")
	// The role may be bound to the group again, under the same name.
	createBinding(t, s, binding("b", reader.ID, ops.ID))
}
