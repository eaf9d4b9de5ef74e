package auth

import (
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/rbac"
	"github.com/runplane/runplane/internal/store"
)

func TestWriteAllRole(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		api.ResourceRunners:                "WriteAllRunners",
		api.ResourceTasks:                  "WriteAllTasks",
		api.ResourceJobs:                   "WriteAllJobs",
		api.ResourceCronJobs:               "WriteAllCronjobs",
		api.ResourceUsers:                  "WriteAllUsers",
		api.ResourceGroups:                 "WriteAllGroups",
		api.ResourceRoles:                  "WriteAllRoles",
		api.ResourceRoleBindings:           "WriteAllRoleBindings",
		api.ResourceAPITokens:              "WriteAllApiTokens",
		api.ResourceWebhooks:               "WriteAllWebhooks",
		api.ResourceAuditLogs:              "WriteAllAuditLogs",
		api.ResourceWorkflows:              "WriteAllWorkflows",
		api.ResourceRuns:                   "WriteAllRuns",
		api.ResourceEventSinks:             "WriteAllEventSinks",
		api.ResourceEvents:                 "WriteAllEvents",
		api.ResourceEventRules:             "WriteAllEventRules",
		api.ResourcePromises:               "WriteAllPromises",
		api.ResourceResources:              "WriteAllResources",
		api.ResourceDestinations:           "WriteAllDestinations",
		api.ResourceStateStores:            "WriteAllStateStores",
		api.ResourceCompositionDefinitions: "WriteAllCompositionDefinitions",
		api.ResourceCompositions:           "WriteAllCompositions",
	}
	for _, res := range api.Resources {
		w, ok := want[res]
		if !ok {
			t.Errorf("resource %q has no expected WriteAll role name here: add it", res)
			continue
		}
		if got := WriteAllRole(res); got != w {
			t.Errorf("WriteAllRole(%q) = %q, want %q", res, got, w)
		}
	}
	for in, w := range map[string]string{"a__b": "WriteAllAB", "_x_": "WriteAllX", "": "WriteAll"} {
		if got := WriteAllRole(in); got != w {
			t.Errorf("WriteAllRole(%q) = %q, want %q", in, got, w)
		}
	}
}

// snapshot is everything EnsureBuiltins may touch.
type snapshot struct {
	Users    []store.User
	Groups   []api.Group
	Roles    []api.Role
	Bindings []api.RoleBinding
}

func take(t *testing.T, st BootstrapStore) snapshot {
	t.Helper()
	ctx := t.Context()
	var s snapshot
	var err error
	if s.Users, err = st.ListUsers(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Groups, err = st.ListGroups(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Roles, err = st.ListRoles(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Bindings, err = st.ListRoleBindings(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func root(t *testing.T, st BootstrapStore) store.User {
	t.Helper()
	u, err := st.GetUserByName(t.Context(), api.ProviderLocal, RootUser)
	if err != nil {
		t.Fatalf("root: %v", err)
	}
	return u
}

func checkPassword(t *testing.T, u store.User, password string, want bool) {
	t.Helper()
	ok, err := VerifyPassword(u.PasswordHash, password)
	if err != nil || ok != want {
		t.Errorf("VerifyPassword(%s, %q) = %v, %v, want %v", u.Username, password, ok, err, want)
	}
}

// checkBuiltins checks that st holds exactly one of each built-in object, as EnsureBuiltins makes them.
func checkBuiltins(t *testing.T, st store.Store) {
	t.Helper()
	ctx := t.Context()
	r := root(t, st)
	if !r.Builtin || r.Provider != api.ProviderLocal {
		t.Errorf("root = %+v, want a built-in local user", r.User)
	}
	admin, err := st.GetGroupByName(ctx, api.ProviderLocal, AdminGroup)
	if err != nil {
		t.Fatalf("group %s: %v", AdminGroup, err)
	}
	if !admin.Builtin || !slices.Contains(admin.UserIDs, r.ID) || !slices.Contains(r.Groups, admin.ID) {
		t.Errorf("group %s = %+v, root in groups %v; want a built-in group holding root", AdminGroup, admin, r.Groups)
	}
	wantRoles := map[string]api.Role{AdminRole: {Name: AdminRole, Resource: api.ResourceAll, ResourceIDs: []string{api.AllIDs}, Access: api.AccessWrite, Builtin: true}}
	for _, res := range api.Resources {
		n := WriteAllRole(res)
		wantRoles[n] = api.Role{Name: n, Resource: res, ResourceIDs: []string{api.AllIDs}, Access: api.AccessWrite, Builtin: true}
	}
	s := take(t, st)
	gotRoles := map[string]api.Role{}
	for _, x := range s.Roles {
		gotRoles[x.Name] = api.Role{Name: x.Name, Resource: x.Resource, ResourceIDs: x.ResourceIDs, Access: x.Access, Builtin: x.Builtin}
	}
	if diff := cmp.Diff(wantRoles, gotRoles); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	if len(s.Users) != 1 || len(s.Groups) != 1 || len(s.Bindings) != 1 {
		t.Fatalf("%d users, %d groups, %d bindings; want one of each", len(s.Users), len(s.Groups), len(s.Bindings))
	}
	b := s.Bindings[0]
	adminRole, err := st.GetRoleByName(ctx, AdminRole)
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != AdminBinding || b.RoleID != adminRole.ID || b.GroupID != admin.ID || !b.Builtin {
		t.Errorf("binding = %+v, want the built-in %q binding role %s to group %s", b, AdminBinding, adminRole.ID, admin.ID)
	}
	// Root may do everything, through its group.
	_, grants, err := st.UserAccess(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range api.Resources {
		if !rbac.Allow(grants, api.AccessWrite, res, "") {
			t.Errorf("root may not write %s as a whole", res)
		}
	}
}

func TestEnsureBuiltinsFresh(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	res, err := EnsureBuiltins(t.Context(), st, RootPassword{})
	if err != nil {
		t.Fatal(err)
	}
	gen := res.Generated
	if len(gen) < 20 {
		t.Fatalf("generated password %q is too short", gen)
	}
	checkBuiltins(t, st)
	checkPassword(t, root(t, st), gen, true)
	a := newAuth(t, st, Options{})
	if _, p, err := a.Login(t.Context(), api.Login{Username: RootUser, Password: gen}, "192.0.2.1"); err != nil || p.Username != RootUser {
		t.Errorf("Login(root, generated password) = %+v, %v", p, err)
	}

	// A second start changes nothing and shows no password.
	before := take(t, st)
	again, err := EnsureBuiltins(t.Context(), st, RootPassword{})
	if err != nil || again != (Bootstrap{}) {
		t.Errorf("second EnsureBuiltins = %+v, %v, want \"\", nil (the password is shown once)", again, err)
	}
	if diff := cmp.Diff(before, take(t, st)); diff != "" {
		t.Errorf("second EnsureBuiltins changed the store (-before +after):\n%s", diff)
	}
	checkPassword(t, root(t, st), gen, true)

	other, _ := newStore(t)
	res2, err := EnsureBuiltins(t.Context(), other, RootPassword{})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Generated == gen {
		t.Errorf("two servers generated the same root password")
	}
}

func TestEnsureBuiltinsConfiguredPassword(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	res, err := EnsureBuiltins(t.Context(), st, RootPassword{Password: "configured-pw-1"})
	if err != nil || res != (Bootstrap{}) {
		t.Fatalf("EnsureBuiltins(configured) = %+v, %v, want nothing to say", res, err)
	}
	checkBuiltins(t, st)
	checkPassword(t, root(t, st), "configured-pw-1", true)

	// The same configuration leaves everything alone: no new hash, no new generation, sessions stay valid.
	before := take(t, st)
	if _, err := EnsureBuiltins(t.Context(), st, RootPassword{Password: "configured-pw-1"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, take(t, st)); diff != "" {
		t.Errorf("EnsureBuiltins with the same password changed the store (-before +after):\n%s", diff)
	}
	// No configured password keeps whatever root has.
	if _, err := EnsureBuiltins(t.Context(), st, RootPassword{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, take(t, st)); diff != "" {
		t.Errorf("EnsureBuiltins without a password changed the store (-before +after):\n%s", diff)
	}
	// A configured password that is no longer root's (root changed it through the API) is ignored, and says so:
	// a restart must not undo the change.
	if res, err := EnsureBuiltins(t.Context(), st, RootPassword{Password: "configured-pw-2"}); err != nil || res != (Bootstrap{Ignored: true}) {
		t.Fatalf("EnsureBuiltins(changed, no reset) = %+v, %v, want Ignored", res, err)
	}
	if diff := cmp.Diff(before, take(t, st)); diff != "" {
		t.Errorf("EnsureBuiltins with another password but no reset changed the store (-before +after):\n%s", diff)
	}

	// Asked to reset, it resets the password, which ends root's sessions.
	a := newAuth(t, st, Options{})
	tok, _, err := a.Login(t.Context(), api.Login{Username: RootUser, Password: "configured-pw-1"}, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := EnsureBuiltins(t.Context(), st, RootPassword{Password: "configured-pw-2", Reset: true}); err != nil || res != (Bootstrap{Reset: true}) {
		t.Fatalf("EnsureBuiltins(changed, reset) = %+v, %v, want Reset", res, err)
	}
	r := root(t, st)
	checkPassword(t, r, "configured-pw-2", true)
	checkPassword(t, r, "configured-pw-1", false)
	if r.Generation != 1 {
		t.Errorf("root generation after the reset = %d, want 1", r.Generation)
	}
	_, err = a.Authenticate(request(bearer(tok), ""))
	wantAuthError(t, "Authenticate(root session from before the reset)", err, errTokenRevoked.Msg)
	checkBuiltins(t, st)
}

// TestEnsureBuiltinsRepairs checks that root is put back into Admin, keeping its other groups.
func TestEnsureBuiltinsRepairs(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	if _, err := EnsureBuiltins(t.Context(), st, RootPassword{Password: "configured-pw-1"}); err != nil {
		t.Fatal(err)
	}
	ops, err := st.CreateGroup(t.Context(), api.Group{Name: "ops", Provider: api.ProviderLocal})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetUserGroups(t.Context(), root(t, st).ID, []string{ops.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureBuiltins(t.Context(), st, RootPassword{Password: "configured-pw-1"}); err != nil {
		t.Fatal(err)
	}
	admin, err := st.GetGroupByName(t.Context(), api.ProviderLocal, AdminGroup)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{admin.ID, ops.ID}
	slices.Sort(want)
	if diff := cmp.Diff(want, root(t, st).Groups); diff != "" {
		t.Errorf("root's groups after the repair (-want +got):\n%s", diff)
	}
}

// TestEnsureBuiltinsConcurrent starts four replicas on one fresh store at once: all succeed, one of them shows
// the generated password, which is root's, and each built-in object exists once.
func TestEnsureBuiltinsConcurrent(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	const n = 4
	gens := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := EnsureBuiltins(t.Context(), st, RootPassword{})
			gens[i], errs[i] = res.Generated, err
		})
	}
	wg.Wait()
	var shown []string
	for i := range n {
		if errs[i] != nil {
			t.Errorf("replica %d: EnsureBuiltins: %v", i, errs[i])
		}
		if gens[i] != "" {
			shown = append(shown, gens[i])
		}
	}
	if len(shown) != 1 {
		t.Fatalf("%d replicas showed a generated password, want exactly 1", len(shown))
	}
	checkBuiltins(t, st)
	checkPassword(t, root(t, st), shown[0], true)
}

func TestEnsureBuiltinsStoreFailure(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	st.Close()
	if res, err := EnsureBuiltins(t.Context(), st, RootPassword{}); err == nil || res.Generated != "" {
		t.Errorf("EnsureBuiltins with a closed store = %+v, %v, want nothing and an error", res, err)
	}
}
