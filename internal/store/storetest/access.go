package storetest

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

func testUserAccess(t *testing.T, s store.Store) {
	ops := createGroup(t, s, group("ops", local))
	dev := createGroup(t, s, group("dev", local))
	other := createGroup(t, s, group("other", local))
	// Created out of name order: roles come back ordered by name.
	write := role("b-write-jobs")
	write.Access = api.AccessWrite
	write = createRole(t, s, write)
	read := createRole(t, s, role("a-read-all"))
	otherRole := createRole(t, s, role("c-other"))
	createRole(t, s, role("d-unbound"))
	createBinding(t, s, binding("ops-read", read.ID, ops.ID))
	createBinding(t, s, binding("ops-write", write.ID, ops.ID))
	createBinding(t, s, binding("dev-read", read.ID, dev.ID))
	createBinding(t, s, binding("other", otherRole.ID, other.ID))

	ann := user("ann", local)
	ann.Groups = []string{ops.ID, dev.ID}
	ann = createUser(t, s, ann)
	bob := user("bob", local)
	bob.Groups = []string{dev.ID}
	bob = createUser(t, s, bob)
	carl := createUser(t, s, user("carl", local))

	tests := []struct {
		name  string
		user  store.User
		roles []api.Role
	}{
		{"two groups with a role in common", ann, []api.Role{read, write}},
		{"one group", bob, []api.Role{read}},
		{"no group", carl, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, roles, err := s.UserAccess(t.Context(), tt.user.ID)
			must(t, "UserAccess", err)
			if diff := cmp.Diff(tt.user, u); diff != "" {
				t.Errorf("UserAccess(%q) user (-want +got):\n%s", tt.user.Username, diff)
			}
			if diff := cmp.Diff(tt.roles, roles, opts); diff != "" {
				t.Errorf("UserAccess(%q) roles (-want +got):\n%s", tt.user.Username, diff)
			}
		})
	}

	id := uuid.NewString()
	_, _, err := s.UserAccess(t.Context(), id)
	checkErr(t, fmt.Sprintf("UserAccess(%q)", id), err, store.ErrNotFound, fmt.Sprintf("user %q not found", id))
}
