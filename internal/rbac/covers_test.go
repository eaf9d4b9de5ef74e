package rbac_test

import (
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/rbac"
)

// TestCovers spells out, case by case, which grants cover a role: what may be handed on by whom.
func TestCovers(t *testing.T) {
	t.Parallel()
	admin := role(api.ResourceAll, write, all)
	every := func(access api.Access, ids ...string) rbac.Grants {
		var g rbac.Grants
		for _, res := range api.Resources {
			g = append(g, role(res, access, ids...))
		}
		return g
	}
	tests := []struct {
		name string
		g    rbac.Grants
		r    api.Role
		want bool
	}{
		{"nothing covers a read", nil, role("runners", read, "a"), false},
		{"nothing covers a role granting nothing", nil, role("runners", read), true},
		{"the same role", rbac.Grants{role("runners", read, "a")}, role("runners", read, "a"), true},
		{"write covers read", rbac.Grants{role("runners", write, "a")}, role("runners", read, "a"), true},
		{"read does not cover write", rbac.Grants{role("runners", read, "a")}, role("runners", write, "a"), false},
		{"all ids cover one", rbac.Grants{role("runners", read, all)}, role("runners", read, "a"), true},
		{"one id does not cover another", rbac.Grants{role("runners", write, "a")}, role("runners", write, "b"), false},
		{"one id does not cover all", rbac.Grants{role("runners", write, "a")}, role("runners", write, all), false},
		{"every id named does not cover *", rbac.Grants{role("runners", write, "a", "b")}, role("runners", write, all), false},
		{"two roles cover two ids together", rbac.Grants{role("runners", read, "a"), role("runners", write, "b")},
			role("runners", read, "a", "b"), true},
		{"two ids need both", rbac.Grants{role("runners", read, "a")}, role("runners", read, "a", "b"), false},
		{"another resource", rbac.Grants{role("tasks", write, all)}, role("runners", read, "a"), false},
		{"* resource covers a resource", rbac.Grants{role(api.ResourceAll, read, all)}, role("users", read, "a"), true},
		{"* resource at read does not cover write", rbac.Grants{role(api.ResourceAll, read, all)}, role("users", write, all), false},
		{"* resource, one id", rbac.Grants{role(api.ResourceAll, write, "a")}, role("jobs", write, "a"), true},
		{"* resource, one id, not all", rbac.Grants{role(api.ResourceAll, write, "a")}, role("jobs", write, all), false},
		{"every resource does not cover *", every(write, all), role(api.ResourceAll, read, all), false},
		{"every resource at one id does not cover * at it", every(write, "a"), role(api.ResourceAll, read, "a"), false},
		{"admin covers admin", rbac.Grants{admin}, admin, true},
		{"admin covers anything", rbac.Grants{admin}, role("role_bindings", write, "x", all), true},
		{"write on roles is not admin", rbac.Grants{role("roles", write, all)}, admin, false},
		{"write on one role is not admin", rbac.Grants{role("roles", write, "mine")}, role(api.ResourceAll, write, all), false},
		{"* read does not cover * write", rbac.Grants{role(api.ResourceAll, read, all)}, admin, false},
		{"unknown access", rbac.Grants{admin}, api.Role{Resource: "runners", ResourceIDs: []string{"a"}, Access: "admin"}, false},
		{"empty access", rbac.Grants{admin}, api.Role{Resource: "runners", ResourceIDs: []string{"a"}}, false},
		{"empty id asks for all", rbac.Grants{role("runners", write, "a")}, role("runners", read, ""), false},
	}
	for _, tt := range tests {
		if got := rbac.Covers(tt.g, tt.r); got != tt.want {
			t.Errorf("%s: Covers(%s, {%s %s %v}) = %v, want %v", tt.name, describe(tt.g), tt.r.Resource, tt.r.Access,
				tt.r.ResourceIDs, got, tt.want)
		}
	}
	if !rbac.CoversAll(nil, nil) || !rbac.CoversAll(rbac.Grants{admin}, []api.Role{admin, role("runners", read, "a")}) ||
		rbac.CoversAll(rbac.Grants{role("runners", read, all)}, []api.Role{role("runners", read, "a"), role("runners", write, "a")}) {
		t.Error("CoversAll does not ask Covers of every role")
	}
}

// probe universe: every resource and one no role names yet (a future resource "*" grants too); named ids, one no
// role names, and "" (the resource as a whole).
var (
	probeResources = append([]string{"zz-future"}, api.Resources...)
	probeIDs       = []string{"a", "b", "c", "zz-fresh", ""}
)

// grantsAllOf is what Covers means, checked the long way: everything the role r permits, among resources and
// objects that exist or may exist, the grants g permit too.
func grantsAllOf(g rbac.Grants, r api.Role) bool {
	one := rbac.Grants{r}
	for _, res := range probeResources {
		for _, verb := range []api.Access{read, write} {
			for _, id := range probeIDs {
				if rbac.Allow(one, verb, res, id) && !rbac.Allow(g, verb, res, id) {
					return false
				}
			}
		}
	}
	return true
}

// TestCoversMeansAllows checks Covers against its meaning for every combination of the roles of pool as grants and
// every role of pool (and a few more) as the role handed on.
func TestCoversMeansAllows(t *testing.T) {
	t.Parallel()
	res, other := "roles", "users"
	p := pool(res, other)
	candidates := append(pool(res, other), role(res, read, "a", "b"), role(res, write, "a", "c"),
		role(api.ResourceAll, read, "c"), role(other, read, "a"), role(api.ResourceAll, write, all, "a"))
	for mask := range 1 << len(p) {
		var g rbac.Grants
		for j, r := range p {
			if mask&(1<<j) != 0 {
				g = append(g, r)
			}
		}
		for _, r := range candidates {
			if got, want := rbac.Covers(g, r), grantsAllOf(g, r); got != want {
				t.Errorf("Covers(%s, {%s %s %v}) = %v, want %v", describe(g), r.Resource, r.Access, r.ResourceIDs, got, want)
			}
		}
	}
}

// FuzzCovers checks Covers against its meaning, and that it is reflexive and monotonic, for grants and roles made
// from arbitrary bytes: each role takes three bytes (resource, access, ids).
func FuzzCovers(f *testing.F) {
	f.Add([]byte{0, 1, 3, 1, 1, 1}, []byte{1, 1, 1})
	f.Add([]byte{0, 1, 7}, []byte{0, 1, 7})
	f.Add([]byte{2, 0, 2, 2, 1, 1}, []byte{2, 0, 3})
	f.Add([]byte{}, []byte{5, 2, 0})
	f.Fuzz(func(t *testing.T, grants, target []byte) {
		if len(grants) > 30 || len(target) < 3 {
			return
		}
		g := rolesOf(grants)
		r := rolesOf(target[:3])[0]
		got := rbac.Covers(g, r)
		valid := r.Access == read || r.Access == write
		// A role of an access this package does not know is covered by nothing, whatever it would grant.
		if want := valid && grantsAllOf(g, r); got != want {
			t.Fatalf("Covers(%s, {%s %s %v}) = %v, want %v", describe(g), r.Resource, r.Access, r.ResourceIDs, got, want)
		}
		if valid && !rbac.Covers(rbac.Grants{r}, r) {
			t.Fatalf("role {%s %s %v} does not cover itself", r.Resource, r.Access, r.ResourceIDs)
		}
		if got && !rbac.Covers(append(g, rolesOf(target[3:])...), r) {
			t.Fatalf("more grants cover less: %s covers {%s %s %v}, with more it does not", describe(g), r.Resource,
				r.Access, r.ResourceIDs)
		}
	})
}

// rolesOf decodes three bytes per role: a resource (or "*"), an access (read, write or an invalid one) and a set of
// ids (bits for a, b, c and "*").
func rolesOf(b []byte) []api.Role {
	resources := append([]string{api.ResourceAll}, api.Resources...)
	accesses := []api.Access{read, write, "admin"}
	ids := []string{"a", "b", "c", all}
	var out []api.Role
	for ; len(b) >= 3; b = b[3:] {
		r := api.Role{Resource: resources[int(b[0])%len(resources)], Access: accesses[int(b[1])%len(accesses)]}
		for i, id := range ids {
			if b[2]&(1<<i) != 0 {
				r.ResourceIDs = append(r.ResourceIDs, id)
			}
		}
		out = append(out, r)
	}
	return out
}
