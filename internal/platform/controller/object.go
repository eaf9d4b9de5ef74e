package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/kratix"
	"github.com/runplane/runplane/internal/platform/promise"
	"github.com/runplane/runplane/internal/store"
)

// object is a promise or a resource request as a reconcile sees it: its status as a map (what package kratix
// works on) and how to store it back.
type object struct {
	k       key
	promise store.Promise
	request *store.ResourceRequest // nil for the promise itself
	status  map[string]any
	api     *promise.API // the promise's API; nil when it has none
}

func (o *object) meta() api.ObjectMeta {
	if o.request != nil {
		return o.request.Metadata
	}
	return o.promise.Metadata
}

// what names o in messages.
func (o *object) what() string {
	if o.request != nil {
		return "the request"
	}
	return "the promise"
}

func (o *object) paused() bool { return o.meta().Labels[PausedLabel] == "true" }

// pipelines are the object's workflow of action a.
func (o *object) pipelines(a kratix.Action) []api.Pipeline {
	w := o.promise.Spec.Workflows.Promise
	if o.request != nil {
		w = o.promise.Spec.Workflows.Resource
	}
	if a == kratix.ActionDelete {
		ps, _ := kratix.ToRun(a, w.Delete)
		return ps
	}
	return w.Configure
}

func (o *object) target(a kratix.Action) kratix.Target {
	if o.request == nil {
		return kratix.PromiseTarget(o.promise.Metadata.Name, a)
	}
	r := o.request
	plural, cluster := "", false
	if o.api != nil {
		plural, cluster = o.api.Names.Plural, !o.api.Namespaced()
	}
	return kratix.ResourceTarget(o.promise.Metadata.Name, a, r.APIVersion, r.Kind, plural, r.Metadata.Name,
		r.Metadata.Namespace, cluster)
}

// doc is the object as its pipelines read it (object.yaml), with status st.
func (o *object) doc() (any, error) {
	if o.request == nil {
		p := o.promise.Promise
		st, err := promiseStatus(o.status)
		if err != nil {
			return nil, err
		}
		p.Status = st
		return p, nil
	}
	st, err := json.Marshal(o.status)
	if err != nil {
		return nil, err
	}
	r := o.request.ResourceRequest
	r.Status = st
	return r, nil
}

// loadRequest reads the request k names and its promise; nil when either is gone.
func (c *Controller) loadRequest(ctx context.Context, k key) (*object, error) {
	p, err := c.st.GetPromise(ctx, k.Promise)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r, err := c.st.GetResourceRequest(ctx, k.Promise, k.Namespace, k.Name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	o := &object{k: k, promise: p, request: &r}
	if o.status, err = decodeStatus(r.Status); err != nil {
		return nil, fmt.Errorf("%s: status: %w", k, err)
	}
	if o.api, err = c.parseAPI(p); err != nil {
		return nil, fmt.Errorf("promise %s: api: %w", p.Metadata.Name, err)
	}
	return o, nil
}

// apiKey names one generation of a promise's spec (its API among it).
type apiKey struct {
	name, uid  string
	generation int64
}

// parseAPI returns p's parsed API (nil when it has none), parsed once per generation of its spec: every look at a
// request reads its promise, and a real promise's CRD is tens of kilobytes of JSON.
func (c *Controller) parseAPI(p store.Promise) (*promise.API, error) {
	if len(p.Spec.API) == 0 {
		return nil, nil
	}
	k := apiKey{p.Metadata.Name, p.Metadata.UID, p.Metadata.Generation}
	c.mu.Lock()
	a, ok := c.apis[k]
	c.mu.Unlock()
	if ok {
		return a, nil
	}
	a, err := promise.ParseAPI(p.Spec.API)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	for have := range c.apis {
		if have.name == k.name {
			delete(c.apis, have) // an older generation's
		}
	}
	c.apis[k] = a
	c.mu.Unlock()
	return a, nil
}

// loadPromise reads the promise k names; nil when it is gone.
func (c *Controller) loadPromise(ctx context.Context, k key) (*object, error) {
	p, err := c.st.GetPromise(ctx, k.Promise)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	o := &object{k: k, promise: p}
	b, err := json.Marshal(p.Status)
	if err != nil {
		return nil, err
	}
	if o.status, err = decodeStatus(b); err != nil {
		return nil, fmt.Errorf("%s: status: %w", k, err)
	}
	return o, nil
}

// save stores st as o's status, over the version o was read at (store.ErrConflict otherwise).
func (c *Controller) save(ctx context.Context, o *object, st map[string]any) error {
	if o.request != nil {
		b, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("%s: encode status: %w", o.k, err)
		}
		r := o.request
		stored, err := c.st.SetResourceRequestStatus(ctx, o.k.Promise, r.Metadata.Namespace, r.Metadata.Name, r.Version, b)
		if err != nil {
			return fmt.Errorf("%s: store status: %w", o.k, err)
		}
		o.request = &stored
		// As a load would read it back (numbers as json.Number, nothing shared with st): the next step starts
		// from o without reading it again.
		if o.status, err = decodeStatus(b); err != nil {
			return fmt.Errorf("%s: status: %w", o.k, err)
		}
		return nil
	}
	ps, err := promiseStatus(st)
	if err != nil {
		return fmt.Errorf("%s: encode status: %w", o.k, err)
	}
	stored, err := c.st.SetPromiseStatus(ctx, o.promise.Metadata.Name, o.promise.Version, ps)
	if err != nil {
		return fmt.Errorf("%s: store status: %w", o.k, err)
	}
	o.promise = stored
	b, err := json.Marshal(stored.Status)
	if err != nil {
		return fmt.Errorf("%s: status: %w", o.k, err)
	}
	if o.status, err = decodeStatus(b); err != nil {
		return fmt.Errorf("%s: status: %w", o.k, err)
	}
	return nil
}

// remove deletes o from the store.
func (c *Controller) remove(ctx context.Context, o *object) error {
	if o.request != nil {
		err := c.st.DeleteResourceRequest(ctx, o.k.Promise, o.request.Metadata.Namespace, o.request.Metadata.Name)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%s: delete: %w", o.k, err)
		}
		return nil
	}
	err := c.st.DeletePromise(ctx, o.promise.Metadata.Name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s: delete: %w", o.k, err)
	}
	return c.revoke(ctx, o.promise.Metadata.Name)
}

func decodeStatus(b []byte) (map[string]any, error) {
	m := map[string]any{}
	if len(bytes.TrimSpace(b)) == 0 || string(bytes.TrimSpace(b)) == "null" {
		return m, nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

func promiseStatus(st map[string]any) (api.PromiseStatus, error) {
	var ps api.PromiseStatus
	b, err := json.Marshal(st)
	if err != nil {
		return ps, err
	}
	err = json.Unmarshal(b, &ps)
	return ps, err
}

// The controller's own bookkeeping in an object's status: under status.kratix, which pipelines may not write.
const (
	fieldAction            = "action"            // status.kratix.workflows: the workflow its pipelines are of
	fieldGeneration        = "generation"        // status.kratix.workflows: the object's generation they run for
	fieldPromiseGeneration = "promiseGeneration" // status.kratix.workflows: the promise's generation they run for
	fieldRound             = "round"             // status.kratix.workflows: starts, resumes and retries so far
	fieldDeletion          = "deletionTimestamp" // status.kratix: when a delete was asked for
	fieldOutputs           = "outputs"           // status.kratix: where the pipelines' output went
)

// kratixOf returns status.kratix (made if missing); st is changed in place.
func kratixOf(st map[string]any) map[string]any {
	k, ok := st["kratix"].(map[string]any)
	if !ok {
		k = map[string]any{}
		st["kratix"] = k
	}
	return k
}

// workflowsOf returns status.kratix.workflows (made if missing); st is changed in place.
func workflowsOf(st map[string]any) map[string]any {
	k := kratixOf(st)
	w, ok := k["workflows"].(map[string]any)
	if !ok {
		w = map[string]any{}
		k["workflows"] = w
	}
	return w
}

func wfInt(st map[string]any, field string) int64 {
	k, _ := st["kratix"].(map[string]any)
	w, _ := k["workflows"].(map[string]any)
	return toInt(w[field])
}

func wfString(st map[string]any, field string) string {
	k, _ := st["kratix"].(map[string]any)
	w, _ := k["workflows"].(map[string]any)
	s, _ := w[field].(string)
	return s
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case json.Number:
		i, _ := n.Int64()
		return i
	case float64:
		return int64(n)
	case int64:
		return n
	case int:
		return int64(n)
	case string:
		i, _ := strconv.ParseInt(n, 10, 64)
		return i
	}
	return 0
}

// deletion is when a delete of the object was asked for; zero if none was.
func deletion(st map[string]any) time.Time {
	k, _ := st["kratix"].(map[string]any)
	s, _ := k[fieldDeletion].(string)
	t, _ := time.Parse(time.RFC3339, s)
	return t
}
