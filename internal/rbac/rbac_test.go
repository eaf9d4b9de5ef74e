package rbac_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/rbac"
)

const (
	read  = api.AccessRead
	write = api.AccessWrite
	all   = api.AllIDs
)

func role(resource string, access api.Access, ids ...string) api.Role {
	return api.Role{Name: resource + "-" + string(access) + "-" + strings.Join(ids, ","), Resource: resource,
		ResourceIDs: ids, Access: access}
}

// perm is one thing a role grants, spelled out.
type perm struct {
	resource string
	verb     api.Access
	id       string
}

// model is a reference implementation of the rules in CONTRACTS.md §2, written differently from rbac on purpose:
// it expands every role into the explicit set of (resource, verb, id) it grants — "*" resources into every
// resource, write into write and read — and then only looks facts up. If rbac and the model disagree, one of them
// misreads the rules.
type model map[perm]bool

func newModel(g rbac.Grants) model {
	m := model{}
	for _, r := range g {
		var resources []string
		switch {
		case r.Resource == api.ResourceAll:
			resources = api.Resources
		case api.ValidResource(r.Resource):
			resources = []string{r.Resource}
		}
		var verbs []api.Access
		switch r.Access {
		case write:
			verbs = []api.Access{read, write}
		case read:
			verbs = []api.Access{read}
		}
		for _, res := range resources {
			for _, v := range verbs {
				for _, id := range r.ResourceIDs {
					m[perm{res, v, id}] = true
				}
			}
		}
	}
	return m
}

// allow: "*" among the ids grants every object and the resource as a whole; a named id grants that object only.
func (m model) allow(verb api.Access, resource, id string) bool {
	if m[perm{resource, verb, all}] {
		return true
	}
	return id != "" && m[perm{resource, verb, id}]
}

// any: the grants name at least one object of the resource for verb.
func (m model) any(verb api.Access, resource string) bool {
	for p := range m {
		if p.resource == resource && p.verb == verb {
			return true
		}
	}
	return false
}

func (m model) filter(verb api.Access, resource, id string) bool {
	return m[perm{resource, verb, all}] || m[perm{resource, verb, id}]
}

// pool are the roles TestAgainstModel combines, for a resource res and another resource other.
func pool(res, other string) []api.Role {
	return []api.Role{
		role(res, read, "a"),              // read-one
		role(res, write, "b"),             // write-one
		role(res, read, all),              // read-all
		role(res, write, all),             // write-all
		role(api.ResourceAll, read, all),  // star-read
		role(api.ResourceAll, write, all), // star-write
		role(api.ResourceAll, write, "c"), // star resource, one id
		role(res, read, "c", all),         // names and "*" together
		role(other, write, all),           // write-all on another resource
	}
}

// TestAgainstModel checks Allow, Any and Filter against the model for every resource, both verbs, the object
// ids a, b, c, d (named by some roles or none) and the whole resource (""), under every combination of the roles
// of pool, including none.
func TestAgainstModel(t *testing.T) {
	t.Parallel()
	ids := []string{"a", "b", "c", "d", ""}
	verbs := []api.Access{read, write}
	checks := 0
	for i, res := range api.Resources {
		other := api.Resources[(i+1)%len(api.Resources)]
		p := pool(res, other)
		for mask := range 1 << len(p) {
			var g rbac.Grants
			for j, r := range p {
				if mask&(1<<j) != 0 {
					g = append(g, r)
				}
			}
			m := newModel(g)
			for _, ask := range []string{res, other} {
				for _, verb := range verbs {
					if got, want := rbac.Any(g, verb, ask), m.any(verb, ask); got != want {
						t.Errorf("Any(%s, %s, %s) = %v, want %v", describe(g), verb, ask, got, want)
					}
					f := rbac.Filter(g, verb, ask)
					for _, id := range ids {
						if got, want := rbac.Allow(g, verb, ask, id), m.allow(verb, ask, id); got != want {
							t.Errorf("Allow(%s, %s, %s, %q) = %v, want %v", describe(g), verb, ask, id, got, want)
						}
						if id == "" {
							continue // Filter asks about objects, which always have an id
						}
						if got, want := f(id), m.filter(verb, ask, id); got != want {
							t.Errorf("Filter(%s, %s, %s)(%q) = %v, want %v", describe(g), verb, ask, id, got, want)
						}
						checks++
					}
				}
			}
		}
	}
	if want := len(api.Resources) * 512 * 2 * 2 * 4; checks != want {
		t.Errorf("made %d checks, want %d: the cross product shrank", checks, want)
	}
}

// TestCrossProduct is the plain cross product of every resource, verb and single role kind, with the expected
// answers written out by hand rather than computed, so that the model above is checked too.
func TestCrossProduct(t *testing.T) {
	t.Parallel()
	type kind struct {
		name  string
		role  func(res string) []api.Role
		read  string // ids (of a, b, "" for the whole resource) read is allowed on
		write string
	}
	kinds := []kind{
		{name: "no role", role: func(string) []api.Role { return nil }},
		{name: "read-one", role: func(res string) []api.Role { return []api.Role{role(res, read, "a")} }, read: "a"},
		{name: "write-one", role: func(res string) []api.Role { return []api.Role{role(res, write, "a")} }, read: "a", write: "a"},
		{name: "read-all", role: func(res string) []api.Role { return []api.Role{role(res, read, all)} }, read: "ab_"},
		{name: "write-all", role: func(res string) []api.Role { return []api.Role{role(res, write, all)} }, read: "ab_", write: "ab_"},
		{name: "star-read", role: func(string) []api.Role { return []api.Role{role(api.ResourceAll, read, all)} }, read: "ab_"},
		{name: "star-write", role: func(string) []api.Role { return []api.Role{role(api.ResourceAll, write, all)} }, read: "ab_", write: "ab_"},
	}
	ids := map[string]byte{"a": 'a', "b": 'b', "": '_'}
	for _, res := range api.Resources {
		for _, k := range kinds {
			g := rbac.Grants(k.role(res))
			for _, verb := range []api.Access{read, write} {
				allowed := k.read
				if verb == write {
					allowed = k.write
				}
				for id, c := range ids {
					want := strings.IndexByte(allowed, c) >= 0
					if got := rbac.Allow(g, verb, res, id); got != want {
						t.Errorf("%s: Allow(%s, %s, %q) = %v, want %v", k.name, verb, res, id, got, want)
					}
					if id != "" {
						if got := rbac.Filter(g, verb, res)(id); got != want {
							t.Errorf("%s: Filter(%s, %s)(%q) = %v, want %v", k.name, verb, res, id, got, want)
						}
					}
				}
				if got, want := rbac.Any(g, verb, res), allowed != ""; got != want {
					t.Errorf("%s: Any(%s, %s) = %v, want %v", k.name, verb, res, got, want)
				}
				// Roles on res grant nothing on any other resource; "*" roles grant the same everywhere.
				for _, other := range api.Resources {
					if other == res {
						continue
					}
					wantOther := strings.HasPrefix(k.name, "star-") && allowed != ""
					if got := rbac.Allow(g, verb, other, "a"); got != wantOther {
						t.Errorf("%s on %s: Allow(%s, %s, a) = %v, want %v", k.name, res, verb, other, got, wantOther)
					}
				}
			}
		}
	}
}

func TestAllow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		grants   rbac.Grants
		verb     api.Access
		resource string
		id       string
		want     bool
	}{
		{"write implies read", rbac.Grants{role("tasks", write, "deploy")}, read, "tasks", "deploy", true},
		{"write grants write", rbac.Grants{role("tasks", write, "deploy")}, write, "tasks", "deploy", true},
		{"read does not imply write", rbac.Grants{role("tasks", read, "deploy")}, write, "tasks", "deploy", false},
		{"read grants read", rbac.Grants{role("tasks", read, "deploy")}, read, "tasks", "deploy", true},
		{"named id only", rbac.Grants{role("tasks", write, "deploy")}, read, "tasks", "backup", false},
		{"several names", rbac.Grants{role("tasks", read, "deploy", "backup")}, read, "tasks", "backup", true},
		{"names and star", rbac.Grants{role("tasks", read, "deploy", all)}, read, "tasks", "anything", true},
		{"star ids", rbac.Grants{role("tasks", read, all)}, read, "tasks", "anything", true},
		{"ids are case sensitive", rbac.Grants{role("tasks", read, "Deploy")}, read, "tasks", "deploy", false},
		{"resources are case sensitive", rbac.Grants{role("Tasks", read, all)}, read, "tasks", "deploy", false},
		{"no leak to another resource", rbac.Grants{role("runners", write, all)}, read, "tasks", "deploy", false},
		{"no leak by id", rbac.Grants{role("runners", write, "deploy")}, read, "tasks", "deploy", false},
		{"star resource read", rbac.Grants{role(api.ResourceAll, read, all)}, read, "audit_logs", "x", true},
		{"star resource read cannot write", rbac.Grants{role(api.ResourceAll, read, all)}, write, "runners", "x", false},
		{"star resource write", rbac.Grants{role(api.ResourceAll, write, all)}, write, "role_bindings", "x", true},
		{"star resource with a named id", rbac.Grants{role(api.ResourceAll, write, "x")}, write, "jobs", "x", true},
		{"star resource with a named id, other id", rbac.Grants{role(api.ResourceAll, write, "x")}, write, "jobs", "y", false},
		{"star resource covers every resource", rbac.Grants{role(api.ResourceAll, read, all)}, read, "webhooks", "w", true},
		{"empty id: named ids do not grant the whole resource", rbac.Grants{role("runners", write, "r1")}, write, "runners", "", false},
		{"empty id: star ids grant it", rbac.Grants{role("runners", write, all)}, write, "runners", "", true},
		{"empty id: read star does not grant write", rbac.Grants{role("runners", read, all)}, write, "runners", "", false},
		{"empty id: star resource", rbac.Grants{role(api.ResourceAll, write, all)}, write, "runners", "", true},
		{"empty id: star resource with named ids", rbac.Grants{role(api.ResourceAll, write, "r1")}, write, "runners", "", false},
		{"nil grants", nil, read, "runners", "r1", false},
		{"empty grants", rbac.Grants{}, read, "runners", "", false},
		{"role without ids", rbac.Grants{role("runners", write)}, read, "runners", "r1", false},
		{"unknown access grants nothing", rbac.Grants{{Resource: "runners", ResourceIDs: []string{all}, Access: "admin"}}, read, "runners", "r1", false},
		{"empty access grants nothing", rbac.Grants{{Resource: api.ResourceAll, ResourceIDs: []string{all}}}, read, "runners", "r1", false},
		{"unknown verb is denied", rbac.Grants{role(api.ResourceAll, write, all)}, "delete", "runners", "r1", false},
		{"empty verb is denied", rbac.Grants{role(api.ResourceAll, write, all)}, "", "runners", "r1", false},
		{"roles combine: read one, write another", rbac.Grants{role("tasks", read, "a"), role("tasks", write, "b")}, write, "tasks", "b", true},
		{"roles combine: write of b is not write of a", rbac.Grants{role("tasks", read, "a"), role("tasks", write, "b")}, write, "tasks", "a", false},
		{"roles combine: star read plus one write", rbac.Grants{role(api.ResourceAll, read, all), role("tasks", write, "b")}, write, "tasks", "b", true},
		{"roles combine: star read plus one write, other id", rbac.Grants{role(api.ResourceAll, read, all), role("tasks", write, "b")}, write, "tasks", "c", false},
		{"roles combine across resources", rbac.Grants{role("runners", read, "a"), role("tasks", write, all)}, write, "tasks", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := rbac.Allow(tt.grants, tt.verb, tt.resource, tt.id); got != tt.want {
				t.Errorf("Allow(%s, %q, %q, %q) = %v, want %v", describe(tt.grants), tt.verb, tt.resource, tt.id, got, tt.want)
			}
		})
	}
}

func TestAny(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		grants   rbac.Grants
		verb     api.Access
		resource string
		want     bool
	}{
		{"read one lists", rbac.Grants{role("tasks", read, "a")}, read, "tasks", true},
		{"read one cannot create", rbac.Grants{role("tasks", read, "a")}, write, "tasks", false},
		{"write one lists", rbac.Grants{role("tasks", write, "a")}, read, "tasks", true},
		{"write one may create", rbac.Grants{role("tasks", write, "a")}, write, "tasks", true},
		{"other resource", rbac.Grants{role("runners", write, all)}, read, "tasks", false},
		{"star resource read", rbac.Grants{role(api.ResourceAll, read, all)}, read, "users", true},
		{"star resource read cannot write", rbac.Grants{role(api.ResourceAll, read, all)}, write, "users", false},
		{"star resource with a named id", rbac.Grants{role(api.ResourceAll, write, "x")}, write, "groups", true},
		{"role without ids", rbac.Grants{role("tasks", write)}, read, "tasks", false},
		{"unknown access", rbac.Grants{{Resource: "tasks", ResourceIDs: []string{all}, Access: "admin"}}, read, "tasks", false},
		{"unknown verb", rbac.Grants{role(api.ResourceAll, write, all)}, "list", "tasks", false},
		{"nil grants", nil, read, "tasks", false},
		{"several roles", rbac.Grants{role("runners", read, all), role("tasks", write, "a")}, write, "tasks", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := rbac.Any(tt.grants, tt.verb, tt.resource); got != tt.want {
				t.Errorf("Any(%s, %q, %q) = %v, want %v", describe(tt.grants), tt.verb, tt.resource, got, tt.want)
			}
		})
	}
}

func TestFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		grants   rbac.Grants
		verb     api.Access
		resource string
		allowed  []string // of a, b, c
	}{
		{"nothing", nil, read, "tasks", nil},
		{"read one", rbac.Grants{role("tasks", read, "a")}, read, "tasks", []string{"a"}},
		{"read one, asked for write", rbac.Grants{role("tasks", read, "a")}, write, "tasks", nil},
		{"write one, asked for read", rbac.Grants{role("tasks", write, "b")}, read, "tasks", []string{"b"}},
		{"roles combine", rbac.Grants{role("tasks", read, "a"), role("tasks", write, "b")}, read, "tasks", []string{"a", "b"}},
		{"roles combine, write", rbac.Grants{role("tasks", read, "a"), role("tasks", write, "b")}, write, "tasks", []string{"b"}},
		{"star ids", rbac.Grants{role("tasks", read, "a", all)}, read, "tasks", []string{"a", "b", "c"}},
		{"star resource", rbac.Grants{role(api.ResourceAll, read, all)}, read, "tasks", []string{"a", "b", "c"}},
		{"star resource read, asked for write", rbac.Grants{role(api.ResourceAll, read, all)}, write, "tasks", nil},
		{"star resource named id", rbac.Grants{role(api.ResourceAll, read, "c")}, read, "jobs", []string{"c"}},
		{"other resource", rbac.Grants{role("runners", read, all), role("runners", read, "a")}, read, "tasks", nil},
		{"unknown access", rbac.Grants{{Resource: "tasks", ResourceIDs: []string{all}, Access: "admin"}}, read, "tasks", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := rbac.Filter(tt.grants, tt.verb, tt.resource)
			for _, id := range []string{"a", "b", "c"} {
				want := false
				for _, a := range tt.allowed {
					want = want || a == id
				}
				if got := f(id); got != want {
					t.Errorf("Filter(%s, %q, %q)(%q) = %v, want %v", describe(tt.grants), tt.verb, tt.resource, id, got, want)
				}
			}
		})
	}
}

// TestFilterIsAStableSnapshot checks that the predicate Filter returns does not change when the grants it was
// computed from do afterwards: it is computed once.
func TestFilterIsAStableSnapshot(t *testing.T) {
	t.Parallel()
	g := rbac.Grants{role("tasks", read, "a")}
	f := rbac.Filter(g, read, "tasks")
	g[0].ResourceIDs[0] = "b"
	if !f("a") || f("b") {
		t.Errorf("Filter predicate followed a later change of its grants: f(a) = %v, f(b) = %v", f("a"), f("b"))
	}
}

func describe(g rbac.Grants) string {
	if len(g) == 0 {
		return "[]"
	}
	parts := make([]string, len(g))
	for i, r := range g {
		parts[i] = fmt.Sprintf("{%s %s %v}", r.Resource, r.Access, r.ResourceIDs)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
