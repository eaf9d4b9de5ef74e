package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/platform/promise"
)

// Kratix documents. A Promise is read as Kratix writes it (apiVersion platform.kratix.io/v1alpha1). A document
// of any other kind whose apiVersion is a group/version is a resource request of a promise's API: apply looks its
// apiVersion and kind up among the promises the files declare and the server has, checks it against that API's
// schema (defaults applied) before sending it, and sends it to /resources/<promise>.

// isRequestDoc reports whether a document of an unknown kind reads as a resource request: a group/version
// apiVersion outside Kratix's and runplane's own groups.
func isRequestDoc(fields map[string]json.RawMessage) bool {
	var av string
	if json.Unmarshal(fields["apiVersion"], &av) != nil {
		return false
	}
	group, _, ok := strings.Cut(av, "/")
	return ok && group != "" && group != "platform.kratix.io" && group != "platform.runplane.dev" && fields["metadata"] != nil
}

func parsePromiseDoc(doc []byte) (manifest, error) {
	p, err := promise.Parse(doc)
	if err != nil {
		return manifest{kind: kindPromise}, fmt.Errorf("%s: %w", kindPromise, err)
	}
	return manifest{kind: kindPromise, promise: p}, nil
}

func parseRequestDoc(doc []byte) (manifest, error) {
	m := manifest{kind: kindRequest}
	if err := json.Unmarshal(doc, &m.request); err != nil {
		return m, fmt.Errorf("resource request: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if err := promise.ValidateName("metadata.name", m.request.Metadata.Name); err != nil {
		return m, fmt.Errorf("%s: %w", m.request.Kind, err)
	}
	m.request.Status = nil // the server's
	return m, nil
}

// requestRef names a request as kubectl does: kind.group/name, and its namespace when one is given.
func requestRef(r api.ResourceRequest) string {
	group, _, _ := strings.Cut(r.APIVersion, "/")
	ref := strings.ToLower(r.Kind) + "." + group + "/" + r.Metadata.Name
	if r.Metadata.Namespace != "" {
		ref += " (namespace " + r.Metadata.Namespace + ")"
	}
	return ref
}

// resolveRequests finds the promise of every request document among the promises declared in ms and those the
// server shows the caller.
func resolveRequests(ctx context.Context, c *client.Client, ms []manifest) error {
	need := false
	for _, m := range ms {
		need = need || m.kind == kindRequest
	}
	if !need {
		return nil
	}
	type offer struct {
		name string
		api  *promise.API
	}
	var offers []offer
	declared := map[string]bool{}
	for _, m := range ms {
		if m.kind == kindPromise && m.promise.Spec.API != nil {
			a, err := promise.ParseAPI(m.promise.Spec.API)
			if err == nil {
				offers = append(offers, offer{m.promise.Metadata.Name, a})
				declared[m.promise.Metadata.Name] = true
			}
		}
	}
	server, err := c.ListPromises(ctx)
	if err != nil && !errors.Is(err, client.ErrForbidden) {
		return fmt.Errorf("apply: list promises: %w", err)
	}
	for _, p := range server {
		if declared[p.Metadata.Name] || p.Spec.API == nil {
			continue
		}
		if a, err := promise.ParseAPI(p.Spec.API); err == nil {
			offers = append(offers, offer{p.Metadata.Name, a})
		}
	}
	for i := range ms {
		m := &ms[i]
		if m.kind != kindRequest {
			continue
		}
		var found []offer
		for _, o := range offers {
			if o.api.Names.Kind == m.request.Kind && o.api.Served(m.request.APIVersion) != nil {
				found = append(found, o)
			}
		}
		switch len(found) {
		case 0:
			return fmt.Errorf("apply %s: no promise offers kind %s at apiVersion %s (apply its Promise first, or check that you may read it)",
				m.source, m.request.Kind, m.request.APIVersion)
		case 1:
			m.reqPromise, m.reqAPI = found[0].name, found[0].api
		default:
			return fmt.Errorf("apply %s: kind %s at apiVersion %s is offered by promises %s and %s", m.source,
				m.request.Kind, m.request.APIVersion, found[0].name, found[1].name)
		}
		checked, err := promise.CheckRequest(m.reqAPI, m.request)
		if err != nil {
			return fmt.Errorf("apply %s: %w", m.source, err)
		}
		m.request.Metadata.Namespace = checked.Metadata.Namespace
	}
	return nil
}

// planPromise plans the change of a Promise document: POST when new, PUT when its labels, annotations or spec differ.
func planPromise(ctx context.Context, c *client.Client, m manifest) (planned, error) {
	return planUpsert(ctx, m, m.promise, m.promise.Metadata.Name, "/promises", c.GetPromise, samePromise)
}

func samePromise(want, cur api.Promise) bool {
	return reflect.DeepEqual(want.Metadata.Labels, cur.Metadata.Labels) &&
		reflect.DeepEqual(want.Metadata.Annotations, cur.Metadata.Annotations) && sameJSON(want.Spec, cur.Spec)
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	var u, v any
	return err1 == nil && err2 == nil && json.Unmarshal(x, &u) == nil && json.Unmarshal(y, &v) == nil && reflect.DeepEqual(u, v)
}

// planRequest plans a request document's change: POST to its promise when new, PUT when its labels,
// annotations or spec (with the schema's defaults applied, as the server stores it) differ.
func planRequest(ctx context.Context, c *client.Client, m manifest) (planned, error) {
	p := planned{m: m}
	cur, err := c.GetResourceRequest(ctx, m.reqPromise, m.request.Metadata.Namespace, m.request.Metadata.Name)
	switch {
	case errors.Is(err, client.ErrNotFound):
		p.result = "created"
		p.req, err = planReq("POST", "/resources/"+url.PathEscape(m.reqPromise), m.request)
	case err != nil:
	case sameRequest(m, cur):
		p.result = "unchanged"
	default:
		p.result = "configured"
		p.req, err = planReq("PUT", "/resources/"+url.PathEscape(m.reqPromise)+"/"+url.PathEscape(m.request.Metadata.Name), m.request)
	}
	return p, err
}

func sameRequest(m manifest, cur api.ResourceRequest) bool {
	checked, err := promise.CheckRequest(m.reqAPI, m.request)
	return err == nil && sameJSON(checked.Spec, cur.Spec) &&
		reflect.DeepEqual(emptyNil(m.request.Metadata.Labels), emptyNil(cur.Metadata.Labels)) &&
		reflect.DeepEqual(emptyNil(m.request.Metadata.Annotations), emptyNil(cur.Metadata.Annotations))
}

func emptyNil(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// applyPromise creates or replaces a promise and says which it did.
func applyPromise(ctx context.Context, c *client.Client, m manifest) (string, error) {
	return upsert(ctx, m.promise, m.promise.Metadata.Name, c.GetPromise, c.CreatePromise, c.UpdatePromise, samePromise)
}

// applyRequest creates or replaces a request and says which it did.
func applyRequest(ctx context.Context, c *client.Client, m manifest) (string, error) {
	cur, err := c.GetResourceRequest(ctx, m.reqPromise, m.request.Metadata.Namespace, m.request.Metadata.Name)
	if errors.Is(err, client.ErrNotFound) {
		_, err = c.CreateResourceRequest(ctx, m.reqPromise, m.request)
		return "created", err
	}
	if err != nil {
		return "", err
	}
	if sameRequest(m, cur) {
		return "unchanged", nil
	}
	_, err = c.UpdateResourceRequest(ctx, m.reqPromise, m.request)
	return "configured", err
}
