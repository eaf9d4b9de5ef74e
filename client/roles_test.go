package client_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/server/servertest"
)

func TestRoles(t *testing.T) {
	url := servertest.Start(t)
	c := newClient(t, url)
	ctx := t.Context()
	ignore := cmpopts.IgnoreFields(api.Role{}, "ID", "CreateTime", "UpdateTime")

	want := api.Role{Name: "read-hello", Resource: api.ResourceTasks, ResourceIDs: []string{"hello"}, Access: api.AccessRead}
	r, err := c.CreateRole(ctx, want)
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	if diff := cmp.Diff(want, r, ignore); diff != "" || r.ID == "" {
		t.Errorf("CreateRole = %+v (-want +got):\n%s", r, diff)
	}
	for _, key := range []string{r.ID, "read-hello"} {
		got, err := c.GetRole(ctx, key)
		if err != nil {
			t.Fatalf("GetRole(%s): %v", key, err)
		}
		if got.ID != r.ID || got.Name != "read-hello" {
			t.Errorf("GetRole(%s) = %+v", key, got)
		}
	}

	want.ResourceIDs, want.Access = []string{"hello", "greet"}, api.AccessWrite
	want.ID = r.ID
	if r, err = c.UpdateRole(ctx, want); err != nil {
		t.Fatalf("UpdateRole: %v", err)
	}
	if diff := cmp.Diff(want, r, ignore); diff != "" {
		t.Errorf("UpdateRole (-want +got):\n%s", diff)
	}
	// By name when the id is not known.
	want.ID, want.Access = "", api.AccessRead
	if r, err = c.UpdateRole(ctx, want); err != nil {
		t.Fatalf("UpdateRole by name: %v", err)
	}
	if r.Access != api.AccessRead {
		t.Errorf("UpdateRole by name: access %q, want read", r.Access)
	}
	if r, err = c.PatchRole(ctx, "read-hello", map[string]any{"resource_names": []string{"*"}}); err != nil {
		t.Fatalf("PatchRole with resource_names: %v", err)
	}
	if diff := cmp.Diff([]string{"*"}, r.ResourceIDs); diff != "" {
		t.Errorf("PatchRole resource_names (-want +got):\n%s", diff)
	}
	list, err := c.ListRoles(ctx)
	if err != nil {
		t.Fatalf("ListRoles: %v", err)
	}
	for _, name := range []string{"Admin", "read-hello"} {
		if !slices.ContainsFunc(list, func(r api.Role) bool { return r.Name == name }) {
			t.Errorf("ListRoles has no role %s: %+v", name, list)
		}
	}
	if err := c.DeleteRole(ctx, "read-hello"); err != nil {
		t.Fatalf("DeleteRole by name: %v", err)
	}
	_, err = c.GetRole(ctx, r.ID)
	checkStatus(t, "GetRole after delete", err, 404)
}

func TestRoleBindings(t *testing.T) {
	url := servertest.Start(t)
	c := newClient(t, url)
	ctx := t.Context()
	ids := createUsers(t, c, "eve")
	ops, err := c.CreateGroup(ctx, api.Group{Name: "ops", Provider: api.ProviderLocal, UserIDs: []string{ids["eve"]}})
	if err != nil {
		t.Fatal(err)
	}
	devs, err := c.CreateGroup(ctx, api.Group{Name: "devs", Provider: api.ProviderLocal})
	if err != nil {
		t.Fatal(err)
	}
	role, err := c.CreateRole(ctx, api.Role{Name: "roles-read", Resource: api.ResourceRoles, ResourceIDs: []string{"*"}, Access: api.AccessRead})
	if err != nil {
		t.Fatal(err)
	}

	// Eve may not list roles until her group is bound to one that grants it.
	eve := login(t, url, "eve", "eve-password")
	_, err = eve.ListRoles(ctx)
	checkStatus(t, "ListRoles as eve without a binding", err, 403)
	if !errors.Is(err, client.ErrForbidden) {
		t.Errorf("ListRoles as eve without a binding: %v is not ErrForbidden", err)
	}

	b, err := c.CreateRoleBinding(ctx, api.RoleBinding{Name: "ops-runners", RoleID: role.ID, GroupID: ops.ID})
	if err != nil {
		t.Fatalf("CreateRoleBinding: %v", err)
	}
	if b.ID == "" || b.RoleID != role.ID || b.GroupID != ops.ID || b.RoleName != "roles-read" || b.SubjectName != "ops" {
		t.Errorf("CreateRoleBinding = %+v", b)
	}
	if got, err := c.GetGroup(ctx, ops.ID); err != nil || !cmp.Equal([]string{role.ID}, got.RoleIDs) {
		t.Errorf("group ops after binding: role_ids %v, %v; want [%s]", got.RoleIDs, err, role.ID)
	}
	if rs, err := eve.ListRoles(ctx); err != nil || !slices.ContainsFunc(rs, func(r api.Role) bool { return r.ID == role.ID }) {
		t.Errorf("ListRoles as eve with the binding = %+v, %v; want roles-read among them", rs, err)
	}

	// Kriten's older form names the role and group.
	old, err := c.CreateRoleBinding(ctx, api.RoleBinding{Name: "devs-runners", RoleName: "roles-read",
		SubjectKind: api.SubjectKindGroups, SubjectProvider: api.ProviderLocal, SubjectName: "devs"})
	if err != nil {
		t.Fatalf("CreateRoleBinding (older form): %v", err)
	}
	if old.RoleID != role.ID || old.GroupID != devs.ID {
		t.Errorf("CreateRoleBinding (older form) = %+v, want role %s group %s", old, role.ID, devs.ID)
	}
	got, err := c.GetRoleBinding(ctx, old.ID)
	if err != nil || got.Name != "devs-runners" {
		t.Errorf("GetRoleBinding = %+v, %v", got, err)
	}
	list, err := c.ListRoleBindings(ctx)
	if err != nil {
		t.Fatalf("ListRoleBindings: %v", err)
	}
	var names []string
	for _, x := range list {
		names = append(names, x.Name)
	}
	if diff := cmp.Diff([]string{"Admin", "devs-runners", "ops-runners"}, names, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("ListRoleBindings names (-want +got):\n%s", diff)
	}

	_, err = c.CreateRoleBinding(ctx, api.RoleBinding{Name: "again", RoleID: role.ID, GroupID: ops.ID})
	checkStatus(t, "binding a role twice to a group", err, 409)
	checkStatus(t, "DeleteRole while bound", c.DeleteRole(ctx, role.ID), 409)
	checkStatus(t, "DeleteGroup while bound", c.DeleteGroup(ctx, devs.ID), 409)

	if _, err := c.PatchRoleBinding(ctx, b.ID, map[string]any{"name": "ops-runners-renamed"}); err != nil {
		t.Fatalf("PatchRoleBinding: %v", err)
	}
	if err := c.DeleteRoleBinding(ctx, b.ID); err != nil {
		t.Fatalf("DeleteRoleBinding: %v", err)
	}
	_, err = c.GetRoleBinding(ctx, b.ID)
	checkStatus(t, "GetRoleBinding after delete", err, 404)
	if _, err := c.UpdateRoleBinding(ctx, api.RoleBinding{ID: old.ID, Name: "devs-runners", RoleID: role.ID, GroupID: ops.ID}); err != nil {
		t.Fatalf("UpdateRoleBinding: %v", err)
	}
	if got, err := c.GetRoleBinding(ctx, old.ID); err != nil || got.GroupID != ops.ID {
		t.Errorf("GetRoleBinding after update = %+v, %v; want group %s", got, err, ops.ID)
	}
}

func TestRoleErrors(t *testing.T) {
	url := servertest.Start(t)
	c := newClient(t, url)
	ctx := t.Context()
	role, err := c.CreateRole(ctx, api.Role{Name: "r", Resource: api.ResourceTasks, ResourceIDs: []string{"*"}, Access: api.AccessRead})
	if err != nil {
		t.Fatal(err)
	}
	admin := groupNamed(t, c, "Admin")
	tests := []struct {
		name string
		call func() error
		want int
	}{
		{"duplicate role", func() error { _, err := c.CreateRole(ctx, role); return err }, 409},
		{"unknown resource", func() error {
			_, err := c.CreateRole(ctx, api.Role{Name: "x", Resource: "widgets", ResourceIDs: []string{"*"}, Access: api.AccessRead})
			return err
		}, 400},
		{"bad access", func() error {
			_, err := c.CreateRole(ctx, api.Role{Name: "x", Resource: api.ResourceTasks, ResourceIDs: []string{"*"}, Access: "admin"})
			return err
		}, 400},
		{"no resource ids", func() error {
			_, err := c.CreateRole(ctx, api.Role{Name: "x", Resource: api.ResourceTasks, Access: api.AccessRead})
			return err
		}, 400},
		{"get missing role", func() error { _, err := c.GetRole(ctx, "missing"); return err }, 404},
		{"delete missing role", func() error { return c.DeleteRole(ctx, "missing") }, 404},
		{"change Admin role", func() error {
			_, err := c.UpdateRole(ctx, api.Role{Name: "Admin", Resource: api.ResourceAll, ResourceIDs: []string{"*"}, Access: api.AccessRead})
			return err
		}, 409},
		{"delete Admin role", func() error { return c.DeleteRole(ctx, "Admin") }, 409},
		{"binding to missing role", func() error {
			_, err := c.CreateRoleBinding(ctx, api.RoleBinding{Name: "b", RoleName: "missing", SubjectKind: api.SubjectKindGroups,
				SubjectProvider: api.ProviderLocal, SubjectName: "Admin"})
			return err
		}, 400},
		{"binding to missing group", func() error {
			_, err := c.CreateRoleBinding(ctx, api.RoleBinding{Name: "b", RoleID: role.ID, GroupID: "no-such-group"})
			return err
		}, 400},
		{"binding without role", func() error {
			_, err := c.CreateRoleBinding(ctx, api.RoleBinding{Name: "b", GroupID: admin.ID})
			return err
		}, 400},
		{"binding with another subject kind", func() error {
			_, err := c.CreateRoleBinding(ctx, api.RoleBinding{Name: "b", RoleID: role.ID, SubjectKind: "users",
				SubjectProvider: api.ProviderLocal, SubjectName: "root"})
			return err
		}, 400},
		{"get missing binding", func() error { _, err := c.GetRoleBinding(ctx, "missing"); return err }, 404},
		{"delete missing binding", func() error { return c.DeleteRoleBinding(ctx, "missing") }, 404},
		{"delete Admin binding", func() error {
			bs, err := c.ListRoleBindings(ctx)
			if err != nil {
				return err
			}
			for _, b := range bs {
				if b.Name == "Admin" {
					return c.DeleteRoleBinding(ctx, b.ID)
				}
			}
			t.Fatalf("no Admin binding in %+v", bs)
			return nil
		}, 409},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkStatus(t, tt.name, tt.call(), tt.want)
		})
	}
}

// TestRoleResourceNames checks that Kriten's newer spelling reaches the server: the client sends a role as it is.
func TestRoleResourceNames(t *testing.T) {
	var r api.Role
	if err := json.Unmarshal([]byte(`{"name":"n","resource":"tasks","resource_names":["a"],"access":"read"}`), &r); err != nil {
		t.Fatal(err)
	}
	url := servertest.Start(t)
	c := newClient(t, url)
	got, err := c.CreateRole(t.Context(), r)
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	if diff := cmp.Diff([]string{"a"}, got.ResourceIDs); diff != "" {
		t.Errorf("resource_ids (-want +got):\n%s", diff)
	}
}
