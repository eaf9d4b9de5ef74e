package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/rbac"
	"github.com/runplane/runplane/internal/store"
)

// scriptedDirectory stands in for LDAP in these tests, and only to script what the directory answers (which
// groups a user is in this time) or to make it fail; what runplane does with the answer runs for real against
// the SQLite store. The LDAP client itself is tested against a real slapd in internal/auth/ldap.
type scriptedDirectory struct {
	mu       sync.Mutex
	password map[string]string        // login name → password
	users    map[string]DirectoryUser // login name → what the directory says
	err      error                    // when set, every call fails with it
}

func (d *scriptedDirectory) Authenticate(_ context.Context, username, password string) (DirectoryUser, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return DirectoryUser{}, d.err
	}
	if p, ok := d.password[username]; !ok || p != password {
		return DirectoryUser{}, ErrInvalidCredentials
	}
	return d.users[username], nil
}

func (d *scriptedDirectory) setGroups(username string, groups ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u := d.users[username]
	u.Groups = groups
	d.users[username] = u
}

// recordedLogs keeps the messages an Authenticator logs.
type recordedLogs struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *recordedLogs) Enabled(context.Context, slog.Level) bool { return true }
func (l *recordedLogs) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *recordedLogs) WithGroup(string) slog.Handler            { return l }
func (l *recordedLogs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.recs = append(l.recs, r.Clone())
	l.mu.Unlock()
	return nil
}

// with returns the values of attribute key in the records logged with msg.
func (l *recordedLogs) with(msg, key string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.recs {
		if r.Message != msg {
			continue
		}
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == key {
				out = append(out, a.Value.String())
			}
			return true
		})
	}
	return out
}

type directoryEnv struct {
	st        store.Store
	dir       *scriptedDirectory
	logs      *recordedLogs
	a         *Authenticator
	ops, dev  api.Group // active_directory groups
	opsRole   api.Role  // bound to ops
	localOps  api.Group // a local group of the same name as ops
	localJane store.User
}

func newDirectoryEnv(t *testing.T) *directoryEnv {
	t.Helper()
	st, _ := newStore(t)
	ctx := t.Context()
	e := &directoryEnv{st: st, logs: &recordedLogs{}, dir: &scriptedDirectory{
		password: map[string]string{"jane": "dir-pass-jane", "joe": "dir-pass-joe"},
		users: map[string]DirectoryUser{
			"jane": {Username: "Jane", DN: "cn=Jane,ou=people,dc=example,dc=org"},
			"joe":  {DN: "cn=joe,ou=people,dc=example,dc=org"}, // no name: the login name is used
		},
	}}
	var err error
	mk := func(name, provider string) api.Group {
		g, err := st.CreateGroup(ctx, api.Group{Name: name, Provider: provider})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	e.ops, e.dev, e.localOps = mk("ops", api.ProviderActiveDirectory), mk("dev", api.ProviderActiveDirectory), mk("ops", api.ProviderLocal)
	if e.opsRole, err = st.CreateRole(ctx, api.Role{Name: "ops", Resource: api.ResourceRunners, ResourceIDs: []string{api.AllIDs}, Access: api.AccessWrite}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRoleBinding(ctx, api.RoleBinding{Name: "ops", RoleID: e.opsRole.ID, GroupID: e.ops.ID}); err != nil {
		t.Fatal(err)
	}
	e.localJane = addUser(t, st, "jane", "local-pass-jane") // a local user of the same name is someone else
	e.a = newAuth(t, st, Options{Directory: e.dir, Logger: slog.New(e.logs)})
	return e
}

func (e *directoryEnv) login(t *testing.T, username, password string) (string, Principal, error) {
	return e.a.Login(t.Context(), api.Login{Username: username, Password: password, Provider: api.ProviderActiveDirectory}, "192.0.2.1")
}

func (e *directoryEnv) groupsOf(t *testing.T, name string) []string {
	t.Helper()
	u, err := e.st.GetUserByName(t.Context(), api.ProviderActiveDirectory, name)
	if err != nil {
		t.Fatal(err)
	}
	return u.Groups
}

func TestDirectoryLogin(t *testing.T) {
	t.Parallel()
	e := newDirectoryEnv(t)
	e.dir.setGroups("jane", "ops", "ghost")

	// First login: the user is created as the directory spells it, without a password, in the mapped groups
	// that exist; the unknown one is skipped with a warning.
	tok, p, err := e.login(t, "jane", "dir-pass-jane")
	if err != nil {
		t.Fatalf("first directory login: %v", err)
	}
	u, err := e.st.GetUserByName(t.Context(), api.ProviderActiveDirectory, "Jane")
	if err != nil {
		t.Fatalf("directory user after first login: %v", err)
	}
	if u.PasswordHash != "" || u.Builtin {
		t.Errorf("directory user = %+v, want no password hash, not built in", u)
	}
	if diff := cmp.Diff(Principal{UserID: u.ID, Username: "Jane", Provider: api.ProviderActiveDirectory}, p, ignoreSession); diff != "" {
		t.Errorf("Login principal (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{e.ops.ID}, u.Groups); diff != "" {
		t.Errorf("groups after first login (-want +got):\n%s", diff)
	}
	if got := e.logs.with("directory group maps to a group that does not exist", "group"); !slices.Equal(got, []string{"ghost"}) {
		t.Errorf("warnings about missing groups name %q, want [ghost]", got)
	}
	got, err := e.a.Authenticate(request(bearer(tok), ""))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rbac.Grants{e.opsRole}, got.Grants); diff != "" {
		t.Errorf("grants of the directory user (-want +got):\n%s", diff)
	}
	if g, err := e.st.GetGroup(t.Context(), e.localOps.ID); err != nil || len(g.UserIDs) != 0 {
		t.Errorf("local group ops = %+v, %v; want no members: directory groups map to active_directory groups only", g, err)
	}

	// The directory's groups changed: the next login replaces the membership, same user.
	e.dir.setGroups("jane", "dev")
	if _, p2, err := e.login(t, "jane", "dir-pass-jane"); err != nil || p2.UserID != u.ID {
		t.Fatalf("second directory login = %+v, %v; want user %s again", p2, err, u.ID)
	}
	if diff := cmp.Diff([]string{e.dev.ID}, e.groupsOf(t, "Jane")); diff != "" {
		t.Errorf("groups after the directory moved the user (-want +got):\n%s", diff)
	}
	if got, err := e.a.Authenticate(request(bearer(tok), "")); err != nil || len(got.Grants) != 0 {
		t.Errorf("grants after leaving ops = %+v, %v; want none (the earlier token carries no grants of its own)", got.Grants, err)
	}

	e.dir.setGroups("jane", "dev", "ops")
	if _, _, err := e.login(t, "jane", "dir-pass-jane"); err != nil {
		t.Fatal(err)
	}
	want := []string{e.dev.ID, e.ops.ID}
	slices.Sort(want)
	if diff := cmp.Diff(want, e.groupsOf(t, "Jane")); diff != "" {
		t.Errorf("groups in two mapped groups (-want +got):\n%s", diff)
	}

	e.dir.setGroups("jane")
	if _, _, err := e.login(t, "jane", "dir-pass-jane"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{}, e.groupsOf(t, "Jane"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("groups after the directory dropped every group (-want +got):\n%s", diff)
	}

	users, err := e.st.ListUsers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 {
		t.Errorf("%d users after four directory logins, want 2 (the local jane and the directory Jane)", len(users))
	}
	if local, err := e.st.GetUser(t.Context(), e.localJane.ID); err != nil || local.Provider != api.ProviderLocal || len(local.Groups) != 0 {
		t.Errorf("the local user jane = %+v, %v; want untouched", local, err)
	}
}

func TestDirectoryLoginFailures(t *testing.T) {
	t.Parallel()
	e := newDirectoryEnv(t)

	_, _, err := e.login(t, "jane", "local-pass-jane") // the local password is no directory password
	wantBadCredentials(t, "directory login with a wrong password", err)
	_, _, err = e.login(t, "nobody", "whatever")
	wantBadCredentials(t, "directory login of an unknown user", err)
	if _, err := e.st.GetUserByName(t.Context(), api.ProviderActiveDirectory, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a failed directory login created a user: %v", err)
	}

	// An unreachable directory is a 503, not a 401, and never counts as a failed guess: an outage must not lock
	// users out once it is over.
	e.dir.mu.Lock()
	e.dir.err = fmt.Errorf("ldap: dial tcp 192.0.2.10:636: connection refused: %w", ErrDirectoryUnavailable)
	e.dir.mu.Unlock()
	for i := range 2 * pairFree {
		_, _, err := e.login(t, "joe", "dir-pass-joe")
		if !errors.Is(err, ErrDirectoryUnavailable) || errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("login %d with the directory down = %v, want ErrDirectoryUnavailable and not a 401", i+1, err)
		}
	}
	if _, err := e.st.GetUserByName(t.Context(), api.ProviderActiveDirectory, "joe"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a login with the directory down created a user: %v", err)
	}
	e.dir.mu.Lock()
	e.dir.err = nil
	e.dir.mu.Unlock()
	_, p, err := e.login(t, "joe", "dir-pass-joe")
	if err != nil {
		t.Fatalf("login once the directory is back: %v", err)
	}
	if p.Username != "joe" || p.Provider != api.ProviderActiveDirectory {
		t.Errorf("principal = %+v, want joe of active_directory (the login name, as the directory gave none)", p)
	}
}

// TestDirectoryFirstLoginRace logs a new directory user in from several requests at once: each succeeds, and one
// user is created. Each comes from its own address: more than pairFree logins at once from one address are refused
// until the first ones succeed (see TestLoginReservations).
func TestDirectoryFirstLoginRace(t *testing.T) {
	t.Parallel()
	e := newDirectoryEnv(t)
	e.dir.setGroups("jane", "ops")
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var p Principal
			_, p, errs[i] = e.a.Login(t.Context(), api.Login{Username: "jane", Password: "dir-pass-jane",
				Provider: api.ProviderActiveDirectory}, fmt.Sprintf("192.0.2.%d", 10+i))
			ids[i] = p.UserID
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent first login %d: %v", i, err)
		}
	}
	u, err := e.st.GetUserByName(t.Context(), api.ProviderActiveDirectory, "Jane")
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		if errs[i] == nil && id != u.ID {
			t.Errorf("concurrent first login %d logged in as %q, want %q", i, id, u.ID)
		}
	}
	if diff := cmp.Diff([]string{e.ops.ID}, u.Groups); diff != "" {
		t.Errorf("groups after concurrent first logins (-want +got):\n%s", diff)
	}
}
