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
// what the ones before it would do, and nothing is stored. Identity objects are addressed by ids the server
// assigns, so a membership that names a group or user the same files create is checked only locally.

// planned is one document's change.
type planned struct {
	m      manifest
	result string                // created, configured or unchanged
	req    *client.DryRunRequest // nil when unchanged
}

func planReq(method, path string, body any) (*client.DryRunRequest, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return &client.DryRunRequest{Method: method, Path: client.APIPrefix + path, Body: b}, nil
}

// planRunnersTasks lists the changes of the runner and task documents, reading the server's objects.
func planRunnersTasks(ctx context.Context, c *client.Client, ms []manifest) ([]planned, error) {
	var out []planned
	for _, m := range ms {
		var p planned
		var err error
		switch m.kind {
		case kindRunner:
			p, err = planRunner(ctx, c, m)
		case kindTask:
			p, err = planTask(ctx, c, m)
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

func planRunner(ctx context.Context, c *client.Client, m manifest) (planned, error) {
	p := planned{m: m}
	cur, err := c.GetRunner(ctx, m.runner.Name)
	switch {
	case errors.Is(err, client.ErrNotFound):
		p.result = "created"
		p.req, err = planReq("POST", "/runners", m.runner)
	case err != nil:
	case runnerUnchanged(m.runner, cur):
		p.result = "unchanged"
	default:
		p.result = "configured"
		p.req, err = planReq("PUT", "/runners/"+url.PathEscape(m.runner.Name), m.runner)
	}
	return p, err
}

func planTask(ctx context.Context, c *client.Client, m manifest) (planned, error) {
	p := planned{m: m}
	cur, err := c.GetTask(ctx, m.task.Name)
	switch {
	case errors.Is(err, client.ErrNotFound):
		p.result = "created"
		p.req, err = planReq("POST", "/tasks", m.task)
	case err != nil:
	case sameFields(m.task, cur):
		p.result = "unchanged"
	default:
		p.result = "configured"
		p.req, err = planReq("PUT", "/tasks/"+url.PathEscape(m.task.Name), m.task)
	}
	return p, err
}

// plan lists the changes of the identity documents, in apply's order.
func (ia *identityApply) plan() ([]planned, error) {
	var out []planned
	add := func(m manifest, result, method, path string, body any) error {
		p := planned{m: m, result: result}
		if method != "" {
			var err error
			if p.req, err = planReq(method, path, body); err != nil {
				return err
			}
		}
		out = append(out, p)
		return nil
	}
	var err error
	for _, m := range ia.groups {
		g := m.group
		if _, ok := ia.dir.group(g.Provider, g.Name); !ok {
			err = errors.Join(err, add(m, "created", "POST", "/groups", api.Group{Name: g.Name, Provider: g.Provider}))
		}
	}
	for _, m := range ia.users {
		u := m.user
		ids, known := ia.knownGroupIDs(u.Provider, ia.groupsOf(u))
		cur, ok := ia.dir.user(u.Provider, u.Username)
		switch {
		case !ok:
			body := api.User{Username: u.Username, Provider: u.Provider, Password: u.Password}
			if u.Groups != nil && known {
				body.Groups = ids
			}
			err = errors.Join(err, add(m, "created", "POST", "/users", body))
		case u.Groups != nil && known && !sameSet(ids, cur.Groups):
			err = errors.Join(err, add(m, "configured", "PATCH", "/users/"+url.PathEscape(cur.ID), map[string]any{"groups": ids}))
		default:
			err = errors.Join(err, add(m, "unchanged", "", "", nil))
		}
		if ok && u.Password != "" {
			err = errors.Join(err, add(m, "configured", "PATCH", "/users/"+url.PathEscape(cur.ID), map[string]any{"password": u.Password}))
		}
	}
	for _, m := range ia.roles {
		want := m.role.apiRole()
		cur, ok := ia.dir.role(want.Name)
		switch {
		case !ok:
			err = errors.Join(err, add(m, "created", "POST", "/roles", want))
		case cur.Resource == want.Resource && cur.Access == want.Access && slices.Equal(cur.ResourceIDs, want.ResourceIDs):
			err = errors.Join(err, add(m, "unchanged", "", "", nil))
		default:
			want.ID = cur.ID
			err = errors.Join(err, add(m, "configured", "PUT", "/roles/"+url.PathEscape(cur.ID), want))
		}
	}
	for _, m := range ia.bindings {
		b := m.binding
		cur, ok := ia.dir.binding(b.Name)
		role, roleOK := ia.dir.role(b.Role)
		group, groupOK := ia.dir.group(b.Provider, b.Group)
		switch {
		case !ok:
			// By name: the role and group may be ones this apply creates.
			err = errors.Join(err, add(m, "created", "POST", "/role_bindings", api.RoleBinding{Name: b.Name, RoleName: b.Role,
				SubjectKind: "groups", SubjectProvider: b.Provider, SubjectName: b.Group}))
		case roleOK && groupOK && cur.RoleID == role.ID && cur.GroupID == group.ID:
			err = errors.Join(err, add(m, "unchanged", "", "", nil))
		case roleOK && groupOK:
			err = errors.Join(err, add(m, "configured", "PUT", "/role_bindings/"+url.PathEscape(cur.ID),
				api.RoleBinding{ID: cur.ID, Name: b.Name, RoleID: role.ID, GroupID: group.ID}))
		default:
			err = errors.Join(err, add(m, "configured", "", "", nil))
		}
	}
	return out, err
}

// knownGroupIDs resolves group names of provider to ids; false if one is not on the server yet.
func (ia *identityApply) knownGroupIDs(provider string, names []string) ([]string, bool) {
	ids := make([]string, 0, len(names))
	for _, n := range names {
		g, ok := ia.dir.group(provider, n)
		if !ok {
			return nil, false
		}
		ids = append(ids, g.ID)
	}
	return ids, true
}

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
		if results, err = c.DryRun(ctx, reqs); err != nil {
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
	// One line per document, saying the most it would do: a user created, or configured by any of its changes.
	rank := map[string]int{"unchanged": 0, "configured": 1, "created": 2}
	result := map[string]string{}
	var order []string
	for _, p := range plan {
		ref := p.m.ref()
		prev, seen := result[ref]
		if !seen {
			order = append(order, ref)
		}
		if !seen || rank[p.result] > rank[prev] {
			result[ref] = p.result
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
