package client_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/server/servertest"
)

// ignoreTimes leaves out what the server stamps.
var ignoreTimes = cmpopts.IgnoreFields(api.User{}, "CreateTime", "UpdateTime")

// login returns a client logged in as username, or fails the test.
func login(t *testing.T, url, username, password string) *client.Client {
	t.Helper()
	c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(t.Context(), api.Login{Username: username, Password: password}); err != nil {
		t.Fatalf("Login(%s): %v", username, err)
	}
	return c
}

func TestUsers(t *testing.T) {
	url := servertest.Start(t)
	c := newClient(t, url)
	ctx := t.Context()

	alice, err := c.CreateUser(ctx, api.User{Username: "alice", Password: "alice-password"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if alice.ID == "" || alice.Password != "" || alice.Provider != api.ProviderLocal || len(alice.Groups) != 0 {
		t.Fatalf("CreateUser = %+v, want an id, provider local, no password, no groups", alice)
	}
	got, err := c.GetUser(ctx, alice.ID)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if diff := cmp.Diff(alice, got, ignoreTimes); diff != "" {
		t.Errorf("GetUser (-created +got):\n%s", diff)
	}
	list, err := c.ListUsers(ctx)
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	var names []string
	for _, u := range list {
		names = append(names, u.Username)
		if u.Password != "" {
			t.Errorf("ListUsers: user %s has a password in the answer", u.Username)
		}
	}
	if diff := cmp.Diff([]string{"alice", "root"}, names, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("ListUsers names (-want +got):\n%s", diff)
	}
	login(t, url, "alice", "alice-password")

	// PUT without a password keeps it; nil groups keeps the membership.
	ops, err := c.CreateGroup(ctx, api.Group{Name: "ops", Provider: api.ProviderLocal})
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	if got, err = c.PatchUser(ctx, alice.ID, map[string]any{"groups": []string{ops.ID}}); err != nil {
		t.Fatalf("PatchUser groups: %v", err)
	}
	if diff := cmp.Diff([]string{ops.ID}, got.Groups); diff != "" {
		t.Errorf("PatchUser groups (-want +got):\n%s", diff)
	}
	if got, err = c.UpdateUser(ctx, api.User{ID: alice.ID, Username: "alice", Provider: api.ProviderLocal}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if diff := cmp.Diff([]string{ops.ID}, got.Groups); diff != "" {
		t.Errorf("UpdateUser with nil groups changed them (-want +got):\n%s", diff)
	}
	login(t, url, "alice", "alice-password")
	member, err := c.UserGroups(ctx, alice.ID)
	if err != nil {
		t.Fatalf("UserGroups: %v", err)
	}
	if diff := cmp.Diff([]api.GroupMember{{ID: ops.ID, Name: "ops", Provider: api.ProviderLocal}}, member); diff != "" {
		t.Errorf("UserGroups (-want +got):\n%s", diff)
	}

	// A new password replaces the old one.
	if _, err := c.PatchUser(ctx, alice.ID, map[string]any{"password": "new-alice-password"}); err != nil {
		t.Fatalf("PatchUser password: %v", err)
	}
	anon, _ := client.New(url)
	if _, err := anon.Login(ctx, api.Login{Username: "alice", Password: "alice-password"}); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("Login with the old password: %v, want ErrUnauthorized", err)
	}
	login(t, url, "alice", "new-alice-password")

	// A user in a group cannot be deleted; empty groups clears the membership.
	checkStatus(t, "DeleteUser while in a group", c.DeleteUser(ctx, alice.ID), 409)
	if got, err = c.UpdateUser(ctx, api.User{ID: alice.ID, Username: "alice", Provider: api.ProviderLocal, Groups: []string{}}); err != nil {
		t.Fatalf("UpdateUser with no groups: %v", err)
	}
	if len(got.Groups) != 0 {
		t.Errorf("UpdateUser with groups [] = %v, want none", got.Groups)
	}
	if err := c.DeleteUser(ctx, alice.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	_, err = c.GetUser(ctx, alice.ID)
	checkStatus(t, "GetUser after delete", err, 404)
	if !errors.Is(err, client.ErrNotFound) {
		t.Errorf("GetUser after delete: %v is not ErrNotFound", err)
	}
}

func TestUserErrors(t *testing.T) {
	url := servertest.Start(t)
	c := newClient(t, url)
	ctx := t.Context()
	if _, err := c.CreateUser(ctx, api.User{Username: "bob", Password: "bob-password"}); err != nil {
		t.Fatal(err)
	}
	root := rootUser(t, c)
	tests := []struct {
		name string
		call func() error
		want int
	}{
		{"duplicate", func() error {
			_, err := c.CreateUser(ctx, api.User{Username: "bob", Password: "bob-password"})
			return err
		}, 409},
		{"local without password", func() error { _, err := c.CreateUser(ctx, api.User{Username: "carol"}); return err }, 400},
		{"short password", func() error {
			_, err := c.CreateUser(ctx, api.User{Username: "carol", Password: "short"})
			return err
		}, 400},
		{"unknown provider", func() error {
			_, err := c.CreateUser(ctx, api.User{Username: "carol", Password: "carol-password", Provider: "ldap"})
			return err
		}, 400},
		{"directory user with password", func() error {
			_, err := c.CreateUser(ctx, api.User{Username: "carol", Password: "carol-password", Provider: api.ProviderActiveDirectory})
			return err
		}, 400},
		{"unknown group", func() error {
			_, err := c.CreateUser(ctx, api.User{Username: "carol", Password: "carol-password", Groups: []string{"no-such-group"}})
			return err
		}, 400},
		{"rename", func() error {
			_, err := c.PatchUser(ctx, root.ID, map[string]any{"username": "admin"})
			return err
		}, 400},
		{"get missing", func() error { _, err := c.GetUser(ctx, "no-such-id"); return err }, 404},
		{"update missing", func() error {
			_, err := c.UpdateUser(ctx, api.User{ID: "no-such-id", Username: "x", Provider: api.ProviderLocal})
			return err
		}, 404},
		{"groups of missing", func() error { _, err := c.UserGroups(ctx, "no-such-id"); return err }, 404},
		{"delete missing", func() error { return c.DeleteUser(ctx, "no-such-id") }, 404},
		{"delete root", func() error { return c.DeleteUser(ctx, root.ID) }, 409},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkStatus(t, tt.name, tt.call(), tt.want)
		})
	}
}

// rootUser returns the builtin root user.
func rootUser(t *testing.T, c *client.Client) api.User {
	t.Helper()
	us, err := c.ListUsers(t.Context())
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	for _, u := range us {
		if u.Username == "root" && u.Provider == api.ProviderLocal {
			if !u.Builtin {
				t.Errorf("root is not builtin: %+v", u)
			}
			return u
		}
	}
	t.Fatalf("no root user in %+v", us)
	return api.User{}
}
