// Package rbac decides whether a caller may do something, from the roles the caller holds. It is pure: no I/O, no
// clock, no store; the caller resolves roles (store.Access) and asks.
//
// The model is Kriten's: a role grants Access (write implies read) on Resource ("*" for every resource) for the
// objects ResourceIDs ("*" for all of them). Jobs are authorized by the name of their task. This package must
// never import anything but api and the standard library.
package rbac

import (
	"slices"

	"github.com/runplane/runplane/api"
)

// Grants is the set of roles a caller holds. The zero value grants nothing.
type Grants []api.Role

// Allow reports whether the grants permit access at level verb to the object id of resource. An empty id asks
// about the resource as a whole, which only a role with "*" in its ids grants (creating a runner, say).
func Allow(g Grants, verb api.Access, resource, id string) bool {
	for _, r := range g {
		if covers(r, verb, resource) && (slices.Contains(r.ResourceIDs, api.AllIDs) || (id != "" && slices.Contains(r.ResourceIDs, id))) {
			return true
		}
	}
	return false
}

// Any reports whether the grants permit verb on at least one object of resource: the test for listing it.
func Any(g Grants, verb api.Access, resource string) bool {
	for _, r := range g {
		if covers(r, verb, resource) && len(r.ResourceIDs) > 0 {
			return true
		}
	}
	return false
}

// Filter returns a predicate that reports whether verb is permitted on the object id of resource, computed once
// for filtering a list.
func Filter(g Grants, verb api.Access, resource string) func(id string) bool {
	ids := map[string]bool{}
	for _, r := range g {
		if !covers(r, verb, resource) {
			continue
		}
		for _, id := range r.ResourceIDs {
			if id == api.AllIDs {
				return func(string) bool { return true }
			}
			ids[id] = true
		}
	}
	return func(id string) bool { return ids[id] }
}

// covers reports whether role r grants verb on resource, whatever the ids.
func covers(r api.Role, verb api.Access, resource string) bool {
	if r.Resource != resource && r.Resource != api.ResourceAll {
		return false
	}
	switch verb {
	case api.AccessRead:
		return r.Access == api.AccessRead || r.Access == api.AccessWrite
	case api.AccessWrite:
		return r.Access == api.AccessWrite
	}
	return false
}

// Covers reports whether the grants already permit everything role r would grant, so that holding g one may
// create r, change a role into r, or hand r to others: no one grants more than they hold (Kubernetes' escalation
// rule for roles and bindings). Write covers read. A "*" resource or a "*" among the ids is covered only by a
// grant with "*" there too, as in Kubernetes: it also grants resources and objects that do not exist yet. Several
// grants may cover one role together (one id each).
func Covers(g Grants, r api.Role) bool {
	if r.Access != api.AccessRead && r.Access != api.AccessWrite {
		return false // a role this package cannot read is covered by nothing
	}
	for _, id := range r.ResourceIDs {
		// Allow asked about the id "*" wants a grant listing "*", and about the resource "*" a grant on "*".
		if !Allow(g, r.Access, r.Resource, id) {
			return false
		}
	}
	return true
}

// CoversAll reports whether the grants cover every role of roles.
func CoversAll(g Grants, roles []api.Role) bool {
	for _, r := range roles {
		if !Covers(g, r) {
			return false
		}
	}
	return true
}
