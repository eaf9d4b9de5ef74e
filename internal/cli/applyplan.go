package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// A server-side check of every document before any is sent. apply lists the change each document needs and has
// the server dry-run them all, in apply's order, as one (POST /api/v1/dry_run): each is checked by the server as
// if sent (validation, schema cost limits, the image allowlist, RBAC, escalation rules, names taken) and sees
// what the ones before it would do, and nothing is stored. The requests are the ones apply then sends, in the
// same order; where one needs the id of an object an earlier one creates, it refers to that request.

// planned is one document's change.
type planned struct {
	m      manifest
	result string                // created, configured or unchanged
	req    *client.DryRunRequest // nil when unchanged
	quiet  bool                  // a step apply does not print: it does not place the document's line
}

func planReq(method, path string, body any) (*client.DryRunRequest, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return &client.DryRunRequest{Method: method, Path: client.APIPrefix + path, Body: b}, nil
}

// planRunnersTasks lists the changes of the runner, task and workflow documents, reading the server's objects.
func planRunnersTasks(ctx context.Context, c *client.Client, ms []manifest) ([]planned, error) {
	var out []planned
	for _, m := range ms {
		var p planned
		var err error
		switch m.kind {
		case kindRunner:
			p, err = planUpsert(ctx, m, m.runner, m.runner.Name, "/runners", c.GetRunner, runnerUnchanged)
		case kindTask:
			p, err = planUpsert(ctx, m, m.task, m.task.Name, "/tasks", c.GetTask, sameFields)
		case kindWorkflow:
			p, err = planUpsert(ctx, m, m.flow, m.flow.Name, "/workflows", c.GetWorkflow, sameWorkflow)
		case kindEventSink:
			p, err = planUpsert(ctx, m, m.sink, m.sink.Name, "/event_sinks", c.GetEventSink, sameFields)
		case kindEventRules:
			p, err = planUpsert(ctx, m, m.rules, m.rules.Name, "/event_rules", c.GetEventRules, sameRules)
		case kindCronJob:
			p, err = planCronJob(ctx, c, m)
		case kindGitStateStore, kindDirectoryStateStore:
			p, err = planUpsert(ctx, m, m.store, m.store.Name, "/state_stores", c.GetStateStore, storeUnchanged)
		case kindDestination:
			p, err = planUpsert(ctx, m, m.dest, m.dest.Name, "/destinations", c.GetDestination, sameDestination)
		case kindPromise:
			p, err = planPromise(ctx, c, m)
		case kindDefinition:
			p, err = planDefinition(ctx, c, m)
		case kindRequest:
			p, err = planRequest(ctx, c, m)
		case kindComposition:
			p, err = planComposition(ctx, c, m)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("apply %s: %w", m.source, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// planUpsert plans what upsert does for m: a POST to the collection, nothing, or a PUT of the named object.
func planUpsert[T any](ctx context.Context, m manifest, want T, name, collection string,
	get func(context.Context, string) (T, error), same func(want, cur T) bool) (planned, error) {
	p := planned{m: m}
	cur, err := get(ctx, name)
	switch {
	case errors.Is(err, client.ErrNotFound):
		p.result = "created"
		p.req, err = planReq("POST", collection, want)
	case err != nil:
	case same(want, cur):
		p.result = "unchanged"
	default:
		p.result = "configured"
		p.req, err = planReq("PUT", collection+"/"+url.PathEscape(name), want)
	}
	return p, err
}

// plan lists the changes of the identity documents as apply makes them, step by step (see apply): an object the
// files create is referred to by the request that creates it ("$ref:" and the request's "as"), since its id is
// not known until then.
func (ia *identityApply) plan() ([]planned, error) {
	var out []planned
	var errs error
	n := 0
	add := func(m manifest, result string, quiet bool, method, path string, body any) string {
		p := planned{m: m, result: result, quiet: quiet}
		if method != "" {
			var err error
			if p.req, err = planReq(method, path, body); err != nil {
				errs = errors.Join(errs, err)
				return ""
			}
			n++
			p.req.As = fmt.Sprintf("r%d", n)
		}
		out = append(out, p)
		if p.req == nil {
			return ""
		}
		return refPrefix + p.req.As
	}
	newGroups, newUsers, newRoles := map[string]string{}, map[string]string{}, map[string]string{}
	groupID := func(provider, name string) string {
		if g, ok := ia.dir.group(provider, name); ok {
			return g.ID
		}
		return newGroups[provider+"/"+name]
	}
	userID := func(provider, name string) string {
		if u, ok := ia.dir.user(provider, name); ok {
			return u.ID
		}
		return newUsers[provider+"/"+name]
	}
	roleID := func(name string) string {
		if r, ok := ia.dir.role(name); ok {
			return r.ID
		}
		return newRoles[name]
	}
	ids := func(names []string, id func(string) string) []string {
		out := make([]string, 0, len(names))
		for _, n := range names {
			out = append(out, id(n))
		}
		return out
	}
	for _, m := range ia.groups {
		g := m.group
		if _, ok := ia.dir.group(g.Provider, g.Name); !ok {
			newGroups[g.Provider+"/"+g.Name] = add(m, "created", true, "POST", "/groups", api.Group{Name: g.Name, Provider: g.Provider})
		}
	}
	var passwords []manifest
	members := map[string][]string{} // group id -> the members the users' step leaves it with, where it changes them
	for _, m := range ia.users {
		u := m.user
		managed := u.Groups != nil
		gids := ids(ia.groupsOf(u), func(n string) string { return groupID(u.Provider, n) })
		cur, ok := ia.dir.user(u.Provider, u.Username)
		switch {
		case !ok:
			body := api.User{Username: u.Username, Provider: u.Provider, Password: u.Password}
			if managed {
				body.Groups = gids
			}
			newUsers[u.Provider+"/"+u.Username] = add(m, "created", false, "POST", "/users", body)
		case managed && !sameSet(gids, cur.Groups):
			add(m, "configured", false, "PATCH", "/users/"+url.PathEscape(cur.ID), map[string]any{"groups": gids})
		default:
			add(m, "unchanged", false, "", "", nil)
		}
		if ok && u.Password != "" {
			passwords = append(passwords, m)
		}
		if managed {
			id := userID(u.Provider, u.Username)
			for _, m := range ia.groups {
				g := m.group
				if g.Provider != u.Provider {
					continue
				}
				gid := groupID(g.Provider, g.Name)
				cur, known := members[gid]
				if !known {
					if x, ok := ia.dir.group(g.Provider, g.Name); ok {
						cur = slices.Clone(x.UserIDs)
					}
				}
				cur = slices.DeleteFunc(cur, func(x string) bool { return x == id })
				if slices.Contains(gids, gid) {
					cur = append(cur, id)
				}
				members[gid] = cur
			}
		}
	}
	for _, m := range ia.groups {
		g := m.group
		gid := groupID(g.Provider, g.Name)
		x, exists := ia.dir.group(g.Provider, g.Name)
		result := "unchanged"
		if !exists {
			result = "created"
		}
		if g.Users == nil {
			add(m, result, false, "", "", nil)
			continue
		}
		uids := ids(ia.usersOf(g), func(n string) string { return userID(g.Provider, n) })
		cur, known := members[gid]
		if !known && exists {
			cur = x.UserIDs
		}
		if sameSet(uids, cur) {
			add(m, result, false, "", "", nil)
			continue
		}
		if result == "unchanged" {
			result = "configured"
		}
		add(m, result, false, "PATCH", "/groups/"+url.PathEscape(gid), map[string]any{"user_ids": uids})
	}
	for _, m := range ia.roles {
		want := m.role.apiRole()
		cur, ok := ia.dir.role(want.Name)
		switch {
		case !ok:
			newRoles[want.Name] = add(m, "created", false, "POST", "/roles", want)
		case cur.Resource == want.Resource && cur.Access == want.Access && slices.Equal(cur.ResourceIDs, want.ResourceIDs):
			add(m, "unchanged", false, "", "", nil)
		default:
			want.ID = cur.ID
			add(m, "configured", false, "PUT", "/roles/"+url.PathEscape(cur.ID), want)
		}
	}
	for _, m := range ia.bindings {
		b := m.binding
		want := api.RoleBinding{Name: b.Name, RoleID: roleID(b.Role), GroupID: groupID(b.Provider, b.Group)}
		cur, ok := ia.dir.binding(b.Name)
		switch {
		case !ok:
			add(m, "created", false, "POST", "/role_bindings", want)
		case cur.RoleID == want.RoleID && cur.GroupID == want.GroupID:
			add(m, "unchanged", false, "", "", nil)
		default:
			want.ID = cur.ID
			add(m, "configured", false, "PUT", "/role_bindings/"+url.PathEscape(cur.ID), want)
		}
	}
	for _, m := range passwords {
		u, _ := ia.dir.user(m.user.Provider, m.user.Username)
		add(m, "configured", true, "PATCH", "/users/"+url.PathEscape(u.ID), map[string]any{"password": m.user.Password})
	}
	return out, errs
}

// refPrefix refers, in a dry run's request, to the id an earlier request of the same dry run answered.
const refPrefix = "$ref:"

// errNoDryRun: the server is older than dry runs (it has no POST /api/v1/dry_run).
var errNoDryRun = errors.New("apply: the server cannot dry-run (it predates POST /api/v1/dry_run): upgrade it")

// dryRun has the server try every planned change as one dry run. With out, it prints what each document would
// get, as apply prints what it did, marked "(dry run)". It fails, naming the document, if the server would
// refuse one.
func dryRun(ctx context.Context, c *client.Client, plan []planned, out io.Writer) error {
	var reqs []client.DryRunRequest
	var owner []int
	for i, p := range plan {
		if p.req != nil {
			reqs = append(reqs, *p.req)
			owner = append(owner, i)
		}
	}
	var results []client.DryRunResult
	if len(reqs) > 0 {
		var err error
		if results, err = c.DryRun(ctx, reqs); errors.Is(err, client.ErrNotFound) {
			return errNoDryRun
		} else if err != nil {
			return fmt.Errorf("apply: dry run: %w", err)
		}
	}
	for k, r := range results {
		if r.Status >= 300 {
			p := plan[owner[k]]
			var e api.Error
			_ = json.Unmarshal(r.Body, &e)
			msg := e.Error
			if msg == "" {
				msg = fmt.Sprintf("status %d", r.Status)
			}
			return fmt.Errorf("apply %s: %s: refused by the server (nothing was changed): %s", p.m.source, p.m.ref(), strings.TrimSpace(msg))
		}
	}
	if len(results) < len(reqs) {
		return fmt.Errorf("apply: dry run: the server answered %d of %d changes", len(results), len(reqs))
	}
	if out == nil {
		return nil
	}
	// One line per document, where apply prints it, saying the most it would do: a user created, or configured by
	// any of its changes.
	rank := map[string]int{"unchanged": 0, "configured": 1, "created": 2}
	result := map[string]string{}
	var order []string
	placed := map[string]bool{}
	for _, p := range plan {
		ref := p.m.ref()
		if prev, seen := result[ref]; !seen || rank[p.result] > rank[prev] {
			result[ref] = p.result
		}
		if !p.quiet && !placed[ref] {
			placed[ref] = true
			order = append(order, ref)
		}
	}
	for _, ref := range order {
		if result[ref] == "unchanged" {
			fmt.Fprintf(out, "%s unchanged\n", ref)
			continue
		}
		fmt.Fprintf(out, "%s %s (dry run)\n", ref, result[ref])
	}
	return nil
}
