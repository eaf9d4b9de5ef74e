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

// role returns a role reading every job, created and updated at(0).
func role(name string) api.Role {
	return api.Role{ID: uuid.NewString(), Name: name, Resource: api.ResourceJobs, ResourceIDs: []string{api.AllIDs},
		Access: api.AccessRead, CreateTime: at(0), UpdateTime: at(0)}
}

func createRole(t *testing.T, s store.Store, r api.Role) api.Role {
	t.Helper()
	got, err := s.CreateRole(t.Context(), r)
	must(t, fmt.Sprintf("CreateRole(%q)", r.Name), err)
	return got
}

func testRoleRoundTrip(t *testing.T, s store.Store) {
	builtin := role("Admin")
	builtin.Resource, builtin.Access, builtin.Builtin = api.ResourceAll, api.AccessWrite, true
	tests := []struct {
		name string
		r    api.Role
	}{
		{"read every job", role("job-reader")},
		{"write some runners", api.Role{ID: uuid.NewString(), Name: "runner-writer", Resource: api.ResourceRunners,
			ResourceIDs: []string{"build", "deploy"}, Access: api.AccessWrite, CreateTime: at(1), UpdateTime: at(2)}},
		{"built in", builtin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			created, err := s.CreateRole(t.Context(), tt.r)
			must(t, "CreateRole", err)
			if diff := cmp.Diff(tt.r, created); diff != "" {
				t.Errorf("CreateRole(%q) returned (-want +got):\n%s", tt.r.Name, diff)
			}
			got, err := s.GetRole(t.Context(), tt.r.ID)
			must(t, "GetRole", err)
			if diff := cmp.Diff(tt.r, got); diff != "" {
				t.Errorf("GetRole(%q) mismatch (-want +got):\n%s", tt.r.ID, diff)
			}
			got, err = s.GetRoleByName(t.Context(), tt.r.Name)
			must(t, "GetRoleByName", err)
			if diff := cmp.Diff(tt.r, got); diff != "" {
				t.Errorf("GetRoleByName(%q) mismatch (-want +got):\n%s", tt.r.Name, diff)
			}
		})
	}
	list, err := s.ListRoles(t.Context())
	must(t, "ListRoles", err)
	for _, r := range list {
		for _, tt := range tests {
			if tt.r.ID == r.ID {
				if diff := cmp.Diff(tt.r, r); diff != "" {
					t.Errorf("ListRoles()[%q] mismatch (-want +got):\n%s", r.Name, diff)
				}
			}
		}
	}
	if len(list) != len(tests) {
		t.Errorf("ListRoles() returned %d roles, want %d", len(list), len(tests))
	}
	t.Run("empty id and times are filled", func(t *testing.T) {
		r := role("zed")
		r.ID, r.CreateTime, r.UpdateTime = "", time.Time{}, time.Time{}
		created, err := s.CreateRole(t.Context(), r)
		must(t, "CreateRole", err)
		if created.ID == "" || created.CreateTime.IsZero() || created.UpdateTime.IsZero() {
			t.Errorf("CreateRole(%q) = id %q, created %v, updated %v; want all set", "zed", created.ID,
				created.CreateTime, created.UpdateTime)
		}
		got, err := s.GetRole(t.Context(), created.ID)
		must(t, "GetRole", err)
		if diff := cmp.Diff(created, got); diff != "" {
			t.Errorf("GetRole(%q) differs from what CreateRole returned (-want +got):\n%s", created.ID, diff)
		}
	})
}

func testRoleCreateConflict(t *testing.T, s store.Store) {
	r := createRole(t, s, role("reader"))
	sameID := role("writer")
	sameID.ID = r.ID
	tests := []struct {
		name string
		r    api.Role
		msg  string
	}{
		{"same name", role("reader"), `role "reader" already exists`},
		{"taken id", sameID, fmt.Sprintf("role id %q already exists", r.ID)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateRole(t.Context(), tt.r)
			checkErr(t, fmt.Sprintf("CreateRole(%q)", tt.r.Name), err, store.ErrConflict, tt.msg)
		})
	}
	got, err := s.GetRoleByName(t.Context(), "reader")
	must(t, "GetRoleByName", err)
	if diff := cmp.Diff(r, got); diff != "" {
		t.Errorf("GetRoleByName(%q) after refused creates (-want +got):\n%s", "reader", diff)
	}
	_, err = s.GetRoleByName(t.Context(), "writer")
	checkErr(t, `GetRoleByName("writer") after a refused create`, err, store.ErrNotFound, "")
}

func testRoleNotFound(t *testing.T, s store.Store) {
	createRole(t, s, role("reader"))
	id := uuid.NewString()
	msg := fmt.Sprintf("role %q not found", id)
	tests := []struct {
		name string
		call func() error
		msg  string
	}{
		{"GetRole", func() error { _, err := s.GetRole(t.Context(), id); return err }, msg},
		{"GetRoleByName", func() error { _, err := s.GetRoleByName(t.Context(), "nope"); return err },
			`role named "nope" not found`},
		{"UpdateRole", func() error {
			r := role("x")
			r.ID = id
			_, err := s.UpdateRole(t.Context(), r)
			return err
		}, msg},
		{"DeleteRole", func() error { return s.DeleteRole(t.Context(), id) }, msg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.name, tt.call(), store.ErrNotFound, tt.msg)
		})
	}
}

func testRoleList(t *testing.T, s store.Store) {
	empty, err := s.ListRoles(t.Context())
	must(t, "ListRoles", err)
	if empty == nil || len(empty) != 0 {
		t.Errorf("ListRoles() of an empty store = %#v, want an empty list", empty)
	}
	for _, n := range []string{"charlie", "alpha", "bravo", "alpha-2"} {
		createRole(t, s, role(n))
	}
	list, err := s.ListRoles(t.Context())
	must(t, "ListRoles", err)
	var names []string
	for _, r := range list {
		names = append(names, r.Name)
	}
	if diff := cmp.Diff([]string{"alpha", "alpha-2", "bravo", "charlie"}, names); diff != "" {
		t.Errorf("ListRoles() names (-want +got):\n%s", diff)
	}
}

func testRoleUpdate(t *testing.T, s store.Store) {
	r := createRole(t, s, role("reader"))
	createRole(t, s, role("other"))
	admin := role("Admin")
	admin.Builtin = true
	admin = createRole(t, s, admin)

	changed := api.Role{ID: r.ID, Name: "writer", Resource: api.ResourceTasks, ResourceIDs: []string{"a", "b"},
		Access: api.AccessWrite, CreateTime: at(50), Builtin: true}
	updated, err := s.UpdateRole(t.Context(), changed)
	must(t, "UpdateRole", err)
	want := changed
	want.CreateTime, want.Builtin = r.CreateTime, false // neither is the caller's to change
	if diff := cmp.Diff(want, updated, ignoreUpdateTime); diff != "" {
		t.Errorf("UpdateRole(%q) returned (-want +got):\n%s", r.ID, diff)
	}
	if updated.UpdateTime.Equal(r.UpdateTime) {
		t.Errorf("UpdateRole(%q).UpdateTime = %v, want the store's now", r.ID, updated.UpdateTime)
	}
	got, err := s.GetRole(t.Context(), r.ID)
	must(t, "GetRole", err)
	if diff := cmp.Diff(updated, got); diff != "" {
		t.Errorf("GetRole(%q) differs from what UpdateRole returned (-want +got):\n%s", r.ID, diff)
	}
	if _, err := s.GetRoleByName(t.Context(), "reader"); err == nil {
		t.Errorf("GetRoleByName(%q) after a rename found the role, want ErrNotFound", "reader")
	}

	refused := []struct {
		name string
		r    api.Role
		msg  string
	}{
		{"name taken", api.Role{ID: r.ID, Name: "other", Resource: api.ResourceJobs, ResourceIDs: []string{"*"},
			Access: api.AccessRead}, `role "other" already exists`},
		{"built in", api.Role{ID: admin.ID, Name: "Admin", Resource: api.ResourceJobs, ResourceIDs: []string{"*"},
			Access: api.AccessRead}, `role "Admin" is built in and cannot be changed`},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			before, err := s.GetRole(t.Context(), tt.r.ID)
			must(t, "GetRole", err)
			_, err = s.UpdateRole(t.Context(), tt.r)
			checkErr(t, fmt.Sprintf("UpdateRole(%q)", tt.r.Name), err, store.ErrConflict, tt.msg)
			got, err := s.GetRole(t.Context(), tt.r.ID)
			must(t, "GetRole", err)
			if diff := cmp.Diff(before, got); diff != "" {
				t.Errorf("GetRole(%q) after a refused update changed (-want +got):\n%s", tt.r.ID, diff)
			}
		})
	}
}

func testRoleDelete(t *testing.T, s store.Store) {
	ops := createGroup(t, s, group("ops", local))
	dev := createGroup(t, s, group("dev", local))
	r := createRole(t, s, role("reader"))
	admin := role("Admin")
	admin.Builtin = true
	admin = createRole(t, s, admin)
	b2 := createBinding(t, s, binding("b2", r.ID, ops.ID))
	b1 := createBinding(t, s, binding("b1", r.ID, dev.ID))

	refused := []struct {
		name string
		id   string
		msg  string
	}{
		{"bound", r.ID, `role "reader" is bound by 2 role bindings`},
		{"built in", admin.ID, `role "Admin" is built in and cannot be deleted`},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, fmt.Sprintf("DeleteRole(%q)", tt.id), s.DeleteRole(t.Context(), tt.id), store.ErrConflict, tt.msg)
			if _, err := s.GetRole(t.Context(), tt.id); err != nil {
				t.Errorf("GetRole(%q) after a refused delete: %v", tt.id, err)
			}
		})
	}
	must(t, "DeleteRoleBinding", s.DeleteRoleBinding(t.Context(), b1.ID))
	checkErr(t, `DeleteRole("reader") bound once`, s.DeleteRole(t.Context(), r.ID), store.ErrConflict,
		`role "reader" is bound by 1 role binding`)
	must(t, "DeleteRoleBinding", s.DeleteRoleBinding(t.Context(), b2.ID))
	must(t, "DeleteRole", s.DeleteRole(t.Context(), r.ID))
	_, err := s.GetRole(t.Context(), r.ID)
	checkErr(t, "GetRole after delete", err, store.ErrNotFound, "")
	checkErr(t, "DeleteRole again", s.DeleteRole(t.Context(), r.ID), store.ErrNotFound, "")
	// The name is free again.
	createRole(t, s, role("reader"))
}
