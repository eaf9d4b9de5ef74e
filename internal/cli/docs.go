package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"sigs.k8s.io/yaml"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// document is an object as `runplane apply` reads it: a kind and the fields of that kind's document. get -o yaml
// and export print documents, so what they print can be applied unchanged.
type document struct {
	kind string
	body any // api.Runner, api.Task, api.Workflow, api.CronJob, userDoc, groupDoc, roleDoc or bindingDoc
}

// marshalDocuments writes docs as a YAML stream, "---" between documents, kind first in each.
func marshalDocuments(docs []document) ([]byte, error) {
	var out bytes.Buffer
	for i, d := range docs {
		b, err := json.Marshal(d.body)
		if err != nil {
			return nil, err
		}
		y, err := yaml.JSONToYAML(b)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		fmt.Fprintf(&out, "kind: %s\n", d.kind)
		out.Write(y)
	}
	return out.Bytes(), nil
}

func runnerDocs(rs []api.Runner) []document {
	out := make([]document, 0, len(rs))
	for _, r := range rs {
		out = append(out, document{kindRunner, r})
	}
	return out
}

func taskDocs(ts []api.Task) []document {
	out := make([]document, 0, len(ts))
	for _, t := range ts {
		out = append(out, document{kindTask, t})
	}
	return out
}

func workflowDocs(ws []api.Workflow) []document {
	out := make([]document, 0, len(ws))
	for _, w := range ws {
		// A trigger's object is the server's to name.
		w.Triggers = slices.Clone(w.Triggers)
		for i := range w.Triggers {
			w.Triggers[i].Object = ""
		}
		out = append(out, document{kindWorkflow, w})
	}
	return out
}

// cronJobDocs are cron jobs as documents: without what the server sets, with their owner.
func cronJobDocs(cjs []api.CronJob) []document {
	out := make([]document, 0, len(cjs))
	for _, cj := range cjs {
		cj.ClearStatus()
		out = append(out, document{kindCronJob, cj})
	}
	return out
}

// identity is the server's users, groups, roles and bindings, for turning ids into the names documents use.
type identity struct {
	users    []api.User
	groups   []api.Group
	roles    []api.Role
	bindings []api.RoleBinding
}

// loadIdentity reads the identity objects of kind (which must succeed) and, best effort, those that name them:
// a caller who may read users but not groups still gets users' documents, naming groups by id.
func loadIdentity(ctx context.Context, c *client.Client, kind string) (identity, error) {
	var id identity
	aux := map[string][]string{
		"users": {"groups"}, "groups": {"users"}, "roles": nil, "rolebindings": {"roles", "groups"},
	}[kind]
	for _, k := range append([]string{kind}, aux...) {
		if err := id.load(ctx, c, k); err != nil && k == kind {
			return id, err
		}
	}
	return id, nil
}

// load lists the identity objects of kind (users, groups, roles or rolebindings) into id.
func (id *identity) load(ctx context.Context, c *client.Client, kind string) error {
	var err error
	switch kind {
	case "users":
		id.users, err = c.ListUsers(ctx)
	case "groups":
		id.groups, err = c.ListGroups(ctx)
	case "roles":
		id.roles, err = c.ListRoles(ctx)
	case "rolebindings":
		id.bindings, err = c.ListRoleBindings(ctx)
	}
	return err
}

// userDocs are users as documents, naming their groups. Passwords are never shown, so the documents carry none.
func (id identity) userDocs(us []api.User) []document {
	gn := groupNames(id.groups)
	out := make([]document, 0, len(us))
	for _, u := range us {
		d := userDoc{Username: u.Username, Provider: u.Provider}
		for _, g := range u.Groups {
			d.Groups = append(d.Groups, nameOr(gn, g))
		}
		slices.Sort(d.Groups)
		out = append(out, document{kindUser, d})
	}
	return out
}

// groupDocs are groups as documents; withMembers names their users (export leaves membership to the users'
// documents, which say it once).
func (id identity) groupDocs(gs []api.Group, withMembers bool) []document {
	un := userNames(id.users)
	out := make([]document, 0, len(gs))
	for _, g := range gs {
		d := groupDoc{Name: g.Name, Provider: g.Provider}
		if withMembers {
			d.Users = []string{}
			for _, u := range g.UserIDs {
				d.Users = append(d.Users, nameOr(un, u))
			}
			slices.Sort(d.Users)
		}
		out = append(out, document{kindGroup, d})
	}
	return out
}

func roleDocs(rs []api.Role) []document {
	out := make([]document, 0, len(rs))
	for _, r := range rs {
		out = append(out, document{kindRole, roleDoc{Name: r.Name, Resource: r.Resource, ResourceIDs: r.ResourceIDs, Access: r.Access}})
	}
	return out
}

// bindingDocs are bindings as documents, naming their role and group.
func (id identity) bindingDocs(bs []api.RoleBinding) []document {
	rn, groups := roleNames(id.roles), map[string]api.Group{}
	for _, g := range id.groups {
		groups[g.ID] = g
	}
	out := make([]document, 0, len(bs))
	for _, b := range bs {
		d := bindingDoc{Name: b.Name, Role: b.RoleName, Group: b.SubjectName, Provider: b.SubjectProvider}
		if d.Role == "" {
			d.Role = nameOr(rn, b.RoleID)
		}
		if g, ok := groups[b.GroupID]; ok && d.Group == "" {
			d.Group, d.Provider = g.Name, g.Provider
		}
		out = append(out, document{kindRoleBinding, d})
	}
	return out
}

// nameOr is n's name for id, or id itself when n does not know it.
func nameOr(n names, id string) string {
	if name, ok := n[id]; ok {
		return name
	}
	return id
}

// documentKinds are the kinds get -o yaml prints as documents apply takes back.
var documentKinds = []string{"runners", "tasks", "workflows", "cronjobs", "users", "groups", "roles", "rolebindings"}

// getDocuments prints the objects of kind (one, when name is set) as apply documents.
func (a *app) getDocuments(ctx context.Context, c *client.Client, kind, name string) error {
	var docs []document
	switch kind {
	case "runners":
		rs, err := getOrListAll(ctx, name, c.GetRunner, c.ListRunners)
		if err != nil {
			return err
		}
		docs = runnerDocs(rs)
	case "tasks":
		ts, err := getOrListAll(ctx, name, c.GetTask, c.ListTasks)
		if err != nil {
			return err
		}
		docs = taskDocs(ts)
	case "workflows":
		ws, err := getOrListAll(ctx, name, c.GetWorkflow, c.ListWorkflows)
		if err != nil {
			return err
		}
		docs = workflowDocs(ws)
	case "cronjobs":
		cjs, err := getOrListAll(ctx, name, c.GetCronJob, c.ListCronJobs)
		if err != nil {
			return err
		}
		docs = cronJobDocs(cjs)
	default:
		id, err := loadIdentity(ctx, c, kind)
		if err != nil {
			return err
		}
		switch kind {
		case "users":
			us, err := pickOrAll("user", name, id.users, func(u api.User) string { return u.ID }, func(u api.User) string { return u.Username })
			if err != nil {
				return err
			}
			docs = id.userDocs(us)
		case "groups":
			gs, err := pickOrAll("group", name, id.groups, func(g api.Group) string { return g.ID }, func(g api.Group) string { return g.Name })
			if err != nil {
				return err
			}
			docs = id.groupDocs(gs, true)
		case "roles":
			rs, err := pickOrAll("role", name, id.roles, func(r api.Role) string { return r.ID }, func(r api.Role) string { return r.Name })
			if err != nil {
				return err
			}
			docs = roleDocs(rs)
		default:
			bs, err := pickOrAll("rolebinding", name, id.bindings, func(b api.RoleBinding) string { return b.ID }, func(b api.RoleBinding) string { return b.Name })
			if err != nil {
				return err
			}
			docs = id.bindingDocs(bs)
		}
	}
	b, err := marshalDocuments(docs)
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(b)
	return err
}

// getOrListAll gets the object name, or lists them all when name is "".
func getOrListAll[T any](ctx context.Context, name string, get func(context.Context, string) (T, error), list func(context.Context) ([]T, error)) ([]T, error) {
	if name == "" {
		return list(ctx)
	}
	v, err := get(ctx, name)
	return []T{v}, err
}

// pickOrAll is pick for one name, or every item when name is "".
func pickOrAll[T any](kind, name string, items []T, id, nameOf func(T) string) ([]T, error) {
	if name == "" {
		return items, nil
	}
	v, err := pick(kind, name, items, id, nameOf)
	return []T{v}, err
}
