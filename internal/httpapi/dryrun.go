package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/store"
)

// Dry runs. A create, update or delete of runners, tasks (their schema and secret too), workflows, cron jobs,
// promises and resource requests, event sinks, state stores, destinations, users, groups (their members too), roles
// and role bindings sent with ?dryRun=All (kubectl's spelling) or
// ?dry_run=true is authenticated, authorized, validated and run against the store exactly as for real, inside one store
// transaction that is then rolled back (store.DryRunner): the answer is the one the request would get, 200 with
// the object as it would be stored or the same 4xx, and nothing is stored. A dry run changes nothing, so, like a
// read, it is not audited. Routes with effects outside the store (jobs, API tokens, login and logout) answer a
// dry run with 400.
//
// POST /api/v1/dry_run runs a list of such requests in order as one dry run: each sees what the ones before it
// would have done (a task naming a runner the list creates), so a whole set of documents can be tried before any
// is sent. It stops at the first request that fails. Objects addressed by ids the server assigns can be referred
// to before they exist: a request with "as": "g" names the id its answer carries, and a later request's path
// segment or JSON string value that is exactly "$ref:g" stands for that id.

// dryRunPath is the route that dry-runs a list of requests.
const dryRunPath = apiPrefix + "/dry_run"

// maxDryRunRequests bounds the requests of one POST /dry_run: the dry run holds the store's writer meanwhile.
const maxDryRunRequests = 1000

// parseDryRun reads the dry-run parameters of a query: dryRun=All (Kubernetes' one value, any case) or
// dry_run=<bool>; any other value is a 400.
func parseDryRun(q url.Values) (bool, error) {
	dry := false
	for _, v := range q["dryRun"] {
		if !strings.EqualFold(v, "All") {
			return false, api.Invalidf("dryRun: want All, got %q", v)
		}
		dry = true
	}
	for _, v := range q["dry_run"] {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, api.Invalidf("dry_run: want true or false, got %q", v)
		}
		dry = dry || b
	}
	return dry, nil
}

// dryRunnable reports whether rt's changes stay in the store, so that a dry run of it can roll them all back.
func dryRunnable(rt Route) bool {
	if rt.Method == http.MethodGet || rt.Method == http.MethodHead {
		return false
	}
	switch rt.Resource {
	case api.ResourceRunners, api.ResourceTasks, api.ResourceWorkflows, api.ResourceUsers, api.ResourceGroups,
		api.ResourceRoles, api.ResourceRoleBindings, api.ResourceEventSinks, api.ResourceEventRules,
		api.ResourceStateStores, api.ResourceDestinations, api.ResourcePromises, api.ResourceResources,
		api.ResourceCompositionDefinitions, api.ResourceCompositions:
		return true
	case api.ResourceCronJobs:
		return !strings.HasSuffix(rt.Path, "/trigger") // firing one starts a job
	}
	return false
}

// dryRunState is what the requests of one POST /dry_run share: the store's view and the caller.
type dryRunState struct {
	view      Store
	principal auth.Principal
}

type dryRunKey struct{}

func dryRunFrom(ctx context.Context) *dryRunState {
	s, _ := ctx.Value(dryRunKey{}).(*dryRunState)
	return s
}

// dryRunOf says whether r asks for a dry run of rt: 400 for a bad value, or a route that cannot dry-run. Every
// request of a POST /dry_run is one. A read ignores the parameter.
func dryRunOf(r *http.Request, rt Route) (bool, error) {
	if rt.Path == dryRunPath {
		if dryRunFrom(r.Context()) != nil {
			return false, api.Invalidf("a dry run cannot hold another")
		}
		return true, nil
	}
	dry, err := parseDryRun(r.URL.Query())
	if err != nil {
		return false, err
	}
	dry = dry || dryRunFrom(r.Context()) != nil
	if rt.Method == http.MethodGet || rt.Method == http.MethodHead || !dry {
		return false, nil
	}
	if !dryRunnable(rt) {
		return false, api.Invalidf("%s %s cannot be dry-run", rt.Method, rt.Path)
	}
	return true, nil
}

// serveDryRun authorizes p for rt and runs rt's handler, both against a view of the store that is rolled back
// afterwards (so a request of a POST /dry_run, which uses that dry run's view, is authorized against the objects
// the requests before it made). The body is read first and the answer kept until the rollback, so that neither a
// slow client nor a slow reader of the answer holds the store.
func (h *Handler) serveDryRun(w http.ResponseWriter, r *http.Request, rt Route, p auth.Principal) error {
	if r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	buf := &bufferedWriter{header: http.Header{}}
	run := func(view Store) error {
		hh := *h
		hh.st = view
		fn := hh.routeFunc(rt)
		if fn == nil {
			return errors.New("dry run: no handler for " + rt.Method + " " + rt.Path)
		}
		ctx := context.WithValue(r.Context(), dryRunKey{}, &dryRunState{view: view, principal: p})
		r := r.WithContext(ctx)
		if err := hh.authorize(r, rt, p); err != nil {
			return err
		}
		return fn(buf, r)
	}
	var err error
	if s := dryRunFrom(r.Context()); s != nil {
		err = run(s.view)
	} else if dr, ok := h.st.(store.DryRunner); ok {
		err = dr.DryRun(r.Context(), func(view store.Store) error { return run(view) })
	} else {
		err = api.Invalidf("this server's store cannot dry-run")
	}
	if err != nil {
		return err
	}
	buf.copyTo(w)
	return nil
}

// routeFunc is rt's handler as h's route table binds it.
func (h *Handler) routeFunc(rt Route) handlerFunc {
	for _, x := range h.table() {
		if x.Method == rt.Method && x.Path == rt.Path {
			return x.fn
		}
	}
	return nil
}

// routeOf returns the route r matches; false if none does (the mux then answers 404 or 405).
func (h *Handler) routeOf(r *http.Request) (Route, bool) {
	_, pattern := h.mux.Handler(r)
	for _, rt := range h.routes {
		if rt.Method+" "+rt.Path == pattern {
			return rt, true
		}
	}
	return Route{}, false
}

// dryRunRequest is one request of a POST /dry_run: a method, a path under /api/v1 (with its query) and a JSON
// body.
type dryRunRequest struct {
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Body   json.RawMessage `json:"body,omitempty"`
	// As names the id of the answer, for later requests to refer to as "$ref:<as>".
	As string `json:"as,omitempty"`
}

// dryRunResult is the answer one request would get.
type dryRunResult struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body,omitempty"`
}

// dryRunList runs the requests of a POST /dry_run in order, each as its own route (authorized for the caller as
// if sent alone), stopping at the first that fails; it answers 200 with every result it got.
func (h *Handler) dryRunList(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Requests []dryRunRequest `json:"requests"`
	}
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	if len(in.Requests) > maxDryRunRequests {
		return api.Invalidf("requests: at most %d", maxDryRunRequests)
	}
	for i, x := range in.Requests {
		if !strings.HasPrefix(x.Path, apiPrefix+"/") {
			return api.Invalidf("requests[%d].path: want a path under %s/", i, apiPrefix)
		}
		if x.Method == "" {
			return api.Invalidf("requests[%d].method is required", i)
		}
	}
	out := struct {
		Results []dryRunResult `json:"results"`
	}{Results: []dryRunResult{}}
	refs := map[string]string{}
	for i, x := range in.Requests {
		path, raw, err := expandRefs(x.Path, x.Body, refs)
		if err != nil {
			return api.Invalidf("requests[%d]: %v", i, err)
		}
		var body io.Reader = http.NoBody
		if len(raw) > 0 {
			body = bytes.NewReader(raw)
		}
		sub, err := http.NewRequestWithContext(r.Context(), strings.ToUpper(x.Method), path, body)
		if err != nil {
			return api.Invalidf("%s %s: %v", x.Method, x.Path, err)
		}
		sub.Header.Set("Content-Type", "application/json")
		sub.RemoteAddr = r.RemoteAddr
		rec := &bufferedWriter{header: http.Header{}}
		// Only what can be dry-run reaches a handler: a public route (login) or a read would run for real.
		if rt, ok := h.routeOf(sub); ok && !dryRunnable(rt) {
			writeJSON(rec, http.StatusBadRequest, api.Error{Error: rt.Method + " " + rt.Path + " cannot be dry-run"})
		} else {
			h.dispatch(rec, sub)
		}
		res := dryRunResult{Status: rec.statusCode()}
		if b := bytes.TrimSpace(rec.body.Bytes()); json.Valid(b) {
			res.Body = b
		}
		out.Results = append(out.Results, res)
		if res.Status >= 400 {
			break
		}
		if x.As != "" {
			var answer struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(res.Body, &answer) != nil || answer.ID == "" {
				return api.Invalidf("requests[%d]: as %q: the answer carries no id", i, x.As)
			}
			refs[x.As] = answer.ID
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// refPrefix marks a reference to the id an earlier request of a POST /dry_run answered.
const refPrefix = "$ref:"

// expandRefs replaces the path segments (before any query) and the JSON string values of body that are exactly "$ref:<name>" with
// the id refs holds for name; a name refs lacks is an error. A body without a reference is returned as it is.
func expandRefs(path string, body json.RawMessage, refs map[string]string) (string, json.RawMessage, error) {
	var err error
	resolve := func(s string) string {
		name, ok := strings.CutPrefix(s, refPrefix)
		if !ok {
			return s
		}
		id, ok := refs[name]
		if !ok && err == nil {
			err = fmt.Errorf("%s%s names no earlier answer", refPrefix, name)
		}
		return id
	}
	path, query, hasQuery := strings.Cut(path, "?")
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(resolve(seg))
		if !strings.HasPrefix(seg, refPrefix) {
			segs[i] = seg
		}
	}
	path = strings.Join(segs, "/")
	if hasQuery {
		path += "?" + query
	}
	if !bytes.Contains(body, []byte(`"`+refPrefix)) {
		return path, body, err
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if derr := d.Decode(&v); derr != nil {
		return path, body, err // the handler answers the bad body
	}
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case string:
			return resolve(x)
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		case map[string]any:
			for k := range x {
				x[k] = walk(x[k])
			}
		}
		return v
	}
	out, merr := json.Marshal(walk(v))
	if merr != nil {
		return path, body, merr
	}
	return path, out, err
}

// bufferedWriter keeps an answer until it may be sent.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedWriter) statusCode() int {
	if b.status == 0 {
		return http.StatusOK
	}
	return b.status
}

func (b *bufferedWriter) copyTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.WriteHeader(b.statusCode())
	w.Write(b.body.Bytes())
}

// authenticate returns the caller of r: the one of the POST /dry_run that r belongs to, if any.
func (h *Handler) authenticate(r *http.Request) (auth.Principal, error) {
	if s := dryRunFrom(r.Context()); s != nil {
		return s.principal, nil
	}
	return h.auth.Authenticate(r)
}
