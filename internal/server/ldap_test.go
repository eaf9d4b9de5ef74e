package server

import (
	"net/http"
	"slices"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth/ldap"
	"github.com/runplane/runplane/internal/auth/ldap/ldaptest"
)

// TestLDAPLogin logs in against a real OpenLDAP over LDAPS: a directory user is created on first login, its
// directory group maps to a runplane group of provider active_directory, and that group's roles apply. A wrong
// password is 401, and a directory that went away is 503.
func TestLDAPLogin(t *testing.T) {
	t.Parallel()
	dir := ldaptest.Start(t)
	ts := startServer(t, func(c *Config) {
		c.LDAP = ldap.Config{
			URL:          dir.LDAPSURL,
			CAFile:       dir.CAFile,
			BindDN:       dir.BindDN,
			BindPassword: dir.BindPassword,
			BaseDN:       dir.BaseDN,
			GroupMap:     map[string]string{ldaptest.GroupDN("operators"): "operators"},
		}
	})
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "hello", Runner: "repo", Command: "echo hi", Synchronous: true})
	var g api.Group
	ts.do(t, req{method: "POST", path: "/api/v1/groups", json: api.Group{Name: "operators", Provider: api.ProviderActiveDirectory}}).
		want(t, http.StatusOK).decode(t, &g)
	ts.do(t, req{method: "POST", path: "/api/v1/roles", json: api.Role{Name: "run-hello", Resource: "jobs", ResourceIDs: []string{"hello"}, Access: api.AccessWrite}}).
		want(t, http.StatusOK)
	ts.do(t, req{method: "POST", path: "/api/v1/role_bindings", json: api.RoleBinding{Name: "operators-run-hello", RoleName: "run-hello",
		SubjectKind: "groups", SubjectProvider: api.ProviderActiveDirectory, SubjectName: "operators"}}).want(t, http.StatusOK)

	adLogin := func(user, password string) *resp {
		return ts.do(t, req{method: "POST", path: "/api/v1/login", noAuth: true,
			json: api.Login{Username: user, Password: password, Provider: api.ProviderActiveDirectory}})
	}
	var lr api.LoginResponse
	adLogin("alice", dir.Users["alice"]).want(t, http.StatusOK).decode(t, &lr)
	job := finished(t, ts.do(t, req{method: "POST", path: "/api/v1/jobs/hello", as: lr.Token}))
	if job.Status != api.JobSucceeded || job.Owner != "alice" {
		t.Errorf("alice's job = %+v, want succeeded, owned by alice", job)
	}
	var users []api.User
	ts.do(t, req{method: "GET", path: "/api/v1/users"}).want(t, http.StatusOK).decode(t, &users)
	var alice *api.User
	for i, u := range users {
		if u.Username == "alice" {
			alice = &users[i]
		}
	}
	if alice == nil || alice.Provider != api.ProviderActiveDirectory || !slices.Equal(alice.Groups, []string{g.ID}) {
		t.Fatalf("users = %+v, want alice of active_directory in group operators (%s)", users, g.ID)
	}

	// carol's directory group is not mapped: she logs in but may do nothing.
	adLogin("carol", dir.Users["carol"]).want(t, http.StatusOK).decode(t, &lr)
	ts.do(t, req{method: "POST", path: "/api/v1/jobs/hello", as: lr.Token}).want(t, http.StatusForbidden)

	if e := adLogin("alice", "not-her-password").want(t, http.StatusUnauthorized).apiError(t); e.Error != "invalid username or password" {
		t.Errorf("wrong password error = %q", e.Error)
	}
	adLogin("nobody", "whatever-password").want(t, http.StatusUnauthorized)
	// A local user of the same name is another user.
	ts.do(t, req{method: "POST", path: "/api/v1/login", noAuth: true,
		json: api.Login{Username: "alice", Password: dir.Users["alice"], Provider: "local"}}).want(t, http.StatusUnauthorized)

	dir.Stop()
	adLogin("alice", dir.Users["alice"]).want(t, http.StatusServiceUnavailable)
}
