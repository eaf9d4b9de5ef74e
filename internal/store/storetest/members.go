package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// testMembership changes membership from the user's side and from the group's, and reads it from both.
func testMembership(t *testing.T, s store.Store) {
	g1 := createGroup(t, s, group("g1", local))
	g2 := createGroup(t, s, group("g2", local))
	g3 := createGroup(t, s, group("g3", local))
	people := createGroup(t, s, group("people", ad))
	bob := user("bob", local)
	bob.Groups = []string{g1.ID}
	bob = createUser(t, s, bob)
	ann := createUser(t, s, user("ann", local))
	missing := uuid.NewString()

	steps := []struct {
		name    string
		change  func() error
		kind    error // of change's error; nil: it succeeds
		annIn   []string
		members map[string][]string // group id: its members
	}{
		{"user joins two groups", func() error { return s.SetUserGroups(t.Context(), ann.ID, unsorted(g2.ID, g1.ID)) },
			nil, ids(g1.ID, g2.ID), map[string][]string{g1.ID: ids(ann.ID, bob.ID), g2.ID: {ann.ID}, g3.ID: {}}},
		{"user's groups replaced", func() error { return s.SetUserGroups(t.Context(), ann.ID, []string{g3.ID}) },
			nil, []string{g3.ID}, map[string][]string{g1.ID: {bob.ID}, g2.ID: {}, g3.ID: {ann.ID}}},
		{"missing group", func() error { return s.SetUserGroups(t.Context(), ann.ID, []string{g1.ID, missing}) },
			store.ErrInvalid, []string{g3.ID}, map[string][]string{g1.ID: {bob.ID}, g2.ID: {}, g3.ID: {ann.ID}}},
		{"group of another provider", func() error { return s.SetUserGroups(t.Context(), ann.ID, []string{people.ID}) },
			store.ErrInvalid, []string{g3.ID}, map[string][]string{g3.ID: {ann.ID}, people.ID: {}}},
		{"group's members replaced", func() error {
			_, err := s.UpdateGroup(t.Context(), api.Group{ID: g2.ID, Name: "g2", UserIDs: unsorted(bob.ID, ann.ID)})
			return err
		}, nil, ids(g2.ID, g3.ID), map[string][]string{g1.ID: {bob.ID}, g2.ID: ids(ann.ID, bob.ID), g3.ID: {ann.ID}}},
		{"user leaves every group", func() error { return s.SetUserGroups(t.Context(), ann.ID, []string{}) },
			nil, []string{}, map[string][]string{g1.ID: {bob.ID}, g2.ID: {bob.ID}, g3.ID: {}}},
		{"nil leaves every group too", func() error {
			must(t, "SetUserGroups", s.SetUserGroups(t.Context(), ann.ID, []string{g1.ID}))
			return s.SetUserGroups(t.Context(), ann.ID, nil)
		}, nil, []string{}, map[string][]string{g1.ID: {bob.ID}}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			err := st.change()
			if st.kind != nil {
				checkErr(t, st.name, err, st.kind, "")
			} else {
				must(t, st.name, err)
			}
			got, err := s.GetUser(t.Context(), ann.ID)
			must(t, "GetUser", err)
			if diff := cmp.Diff(st.annIn, got.Groups); diff != "" {
				t.Errorf("GetUser(%q).Groups (-want +got):\n%s", "ann", diff)
			}
			for id, want := range st.members {
				g, err := s.GetGroup(t.Context(), id)
				must(t, "GetGroup", err)
				if diff := cmp.Diff(want, g.UserIDs); diff != "" {
					t.Errorf("GetGroup(%q).UserIDs (-want +got):\n%s", g.Name, diff)
				}
			}
		})
	}
}
