package client_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/server/servertest"
)

// createUsers creates local users named names and returns their ids.
func createUsers(t *testing.T, c *client.Client, names ...string) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for _, n := range names {
		u, err := c.CreateUser(t.Context(), api.User{Username: n, Password: n + "-password"})
		if err != nil {
			t.Fatalf("CreateUser(%s): %v", n, err)
		}
		ids[n] = u.ID
	}
	return ids
}

func TestGroups(t *testing.T) {
	url := servertest.Start(t)
	c := newClient(t, url)
	ctx := t.Context()
	ids := createUsers(t, c, "ann", "ben", "cat")
	sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })

	g, err := c.CreateGroup(ctx, api.Group{Name: "ops", Provider: api.ProviderLocal, UserIDs: []string{ids["ann"]}})
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	if g.ID == "" || g.Name != "ops" || !cmp.Equal([]string{ids["ann"]}, g.UserIDs) {
		t.Fatalf("CreateGroup = %+v", g)
	}
	got, err := c.GetGroup(ctx, g.ID)
	if err != nil {
		t.Fatalf("GetGroup: %v", err)
	}
	if diff := cmp.Diff(g, got, cmpopts.IgnoreFields(api.Group{}, "CreateTime", "UpdateTime"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("GetGroup (-created +got):\n%s", diff)
	}
	list, err := c.ListGroups(ctx)
	if err != nil {
		t.Fatalf("ListGroups: %v", err)
	}
	var names []string
	for _, x := range list {
		names = append(names, x.Name)
	}
	if diff := cmp.Diff([]string{"Admin", "ops"}, names, sorted); diff != "" {
		t.Errorf("ListGroups names (-want +got):\n%s", diff)
	}

	steps := []struct {
		name string
		call func() (api.Group, error)
		want []string // user names
	}{
		{"add by id and by name", func() (api.Group, error) {
			return c.AddGroupUsers(ctx, g.ID, []api.GroupMember{{ID: ids["ben"]}, {Name: "cat", Provider: api.ProviderLocal}})
		}, []string{"ann", "ben", "cat"}},
		{"remove", func() (api.Group, error) {
			return c.RemoveGroupUsers(ctx, g.ID, []api.GroupMember{{Name: "ann", Provider: api.ProviderLocal}})
		}, []string{"ben", "cat"}},
		{"PATCH user_ids replaces", func() (api.Group, error) {
			return c.PatchGroup(ctx, g.ID, map[string]any{"user_ids": []string{ids["ann"]}})
		}, []string{"ann"}},
		{"PUT with nil user_ids keeps", func() (api.Group, error) {
			return c.UpdateGroup(ctx, api.Group{ID: g.ID, Name: "ops", Provider: api.ProviderLocal})
		}, []string{"ann"}},
		{"PUT renames", func() (api.Group, error) {
			return c.UpdateGroup(ctx, api.Group{ID: g.ID, Name: "operators", Provider: api.ProviderLocal, UserIDs: []string{}})
		}, nil},
	}
	byID := map[string]string{}
	for n, id := range ids {
		byID[id] = n
	}
	for _, s := range steps {
		g, err := s.call()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		var members []string
		for _, id := range g.UserIDs {
			members = append(members, byID[id])
		}
		if diff := cmp.Diff(s.want, members, sorted); diff != "" {
			t.Errorf("%s: members (-want +got):\n%s", s.name, diff)
		}
		listed, err := c.GroupUsers(ctx, g.ID)
		if err != nil {
			t.Fatalf("%s: GroupUsers: %v", s.name, err)
		}
		members = nil
		for _, m := range listed {
			if m.ID != ids[m.Name] || m.Provider != api.ProviderLocal {
				t.Errorf("%s: GroupUsers member %+v", s.name, m)
			}
			members = append(members, m.Name)
		}
		if diff := cmp.Diff(s.want, members, sorted); diff != "" {
			t.Errorf("%s: GroupUsers (-want +got):\n%s", s.name, diff)
		}
	}
	if got, err := c.GetGroup(ctx, g.ID); err != nil || got.Name != "operators" {
		t.Errorf("GetGroup after rename = %+v, %v", got, err)
	}
	if err := c.DeleteGroup(ctx, g.ID); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	_, err = c.GetGroup(ctx, g.ID)
	checkStatus(t, "GetGroup after delete", err, 404)
}

func TestGroupErrors(t *testing.T) {
	url := servertest.Start(t)
	c := newClient(t, url)
	ctx := t.Context()
	ids := createUsers(t, c, "dan")
	g, err := c.CreateGroup(ctx, api.Group{Name: "devs", Provider: api.ProviderLocal, UserIDs: []string{ids["dan"]}})
	if err != nil {
		t.Fatal(err)
	}
	admin := groupNamed(t, c, "Admin")
	tests := []struct {
		name string
		call func() error
		want int
	}{
		{"duplicate", func() error {
			_, err := c.CreateGroup(ctx, api.Group{Name: "devs", Provider: api.ProviderLocal})
			return err
		}, 409},
		{"no name", func() error { _, err := c.CreateGroup(ctx, api.Group{Provider: api.ProviderLocal}); return err }, 400},
		{"unknown provider", func() error { _, err := c.CreateGroup(ctx, api.Group{Name: "x1", Provider: "ldap"}); return err }, 400},
		{"unknown member", func() error {
			_, err := c.CreateGroup(ctx, api.Group{Name: "x2", Provider: api.ProviderLocal, UserIDs: []string{"no-such-user"}})
			return err
		}, 400},
		{"member of another provider", func() error {
			_, err := c.CreateGroup(ctx, api.Group{Name: "x3", Provider: api.ProviderActiveDirectory, UserIDs: []string{ids["dan"]}})
			return err
		}, 400},
		{"add unknown member", func() error {
			_, err := c.AddGroupUsers(ctx, g.ID, []api.GroupMember{{Name: "nobody", Provider: api.ProviderLocal}})
			return err
		}, 400},
		{"get missing", func() error { _, err := c.GetGroup(ctx, "no-such-id"); return err }, 404},
		{"users of missing", func() error { _, err := c.GroupUsers(ctx, "no-such-id"); return err }, 404},
		{"add to missing", func() error {
			_, err := c.AddGroupUsers(ctx, "no-such-id", []api.GroupMember{{ID: ids["dan"]}})
			return err
		}, 404},
		{"delete missing", func() error { return c.DeleteGroup(ctx, "no-such-id") }, 404},
		{"delete with members", func() error { return c.DeleteGroup(ctx, g.ID) }, 409},
		{"delete Admin", func() error { return c.DeleteGroup(ctx, admin.ID) }, 409},
		{"rename Admin", func() error {
			_, err := c.PatchGroup(ctx, admin.ID, map[string]any{"name": "Admins"})
			return err
		}, 409},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkStatus(t, tt.name, tt.call(), tt.want)
		})
	}
}

// groupNamed returns the local group named name.
func groupNamed(t *testing.T, c *client.Client, name string) api.Group {
	t.Helper()
	gs, err := c.ListGroups(t.Context())
	if err != nil {
		t.Fatalf("ListGroups: %v", err)
	}
	for _, g := range gs {
		if g.Name == name && g.Provider == api.ProviderLocal {
			return g
		}
	}
	t.Fatalf("no group %q in %+v", name, gs)
	return api.Group{}
}
