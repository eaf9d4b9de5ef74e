package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/workflow"
)

// The metadata API is how a running workflow step talks back, with Relay's paths and JSON shapes so that steps
// written for Relay work: its job has env RUNPLANE_METADATA_URL (and Relay's METADATA_API_URL) naming
// /api/v1/metadata and a token (RUNPLANE_STEP_TOKEN) sent as Authorization: Bearer. The token is good for these
// routes alone, for its own run, step and attempt, and only while the step's job runs: 401 otherwise. A step
// asking for what is not its own (a secret its definition does not reference) gets 403.

// StepTokens checks step tokens; *auth.StepTokens implements it.
type StepTokens interface {
	Verify(token string) (auth.Step, error)
}

// StepRuns is what the metadata API needs of the workflow engine besides Runs; *runs.Engine implements it.
type StepRuns interface {
	// Resolve evaluates step's input, env and spec in run as it is now.
	Resolve(ctx context.Context, run store.Run, step string) (workflow.Resolved, error)
	// StepSecrets returns the secrets step's definition references, and no others.
	StepSecrets(ctx context.Context, run store.Run, step string) (map[string]string, error)
}

// metadataRoutes are the metadata API's routes: public as far as the route adapter is concerned, each handler
// authenticating the step (stepCall).
func (h *Handler) metadataRoutes(pub func(method, path string, fn handlerFunc) route) []route {
	m := apiPrefix + "/metadata"
	return []route{
		pub("GET", m+"/spec", h.stepCall(h.metaSpec)),
		pub("GET", m+"/environment", h.stepCall(h.metaEnvironment)),
		pub("GET", m+"/environment/{name}", h.stepCall(h.metaEnvironment)),
		pub("GET", m+"/secrets/{name}", h.stepCall(h.metaSecret)),
		pub("PUT", m+"/outputs/{name}", h.stepCall(h.metaPutOutput)),
		pub("PUT", m+"/outputs/{name}/metadata", h.stepCall(h.metaOutputMetadata)),
		pub("GET", m+"/outputs/{step}/{name}", h.stepCall(h.metaGetOutput)),
		pub("GET", m+"/state/{name}", h.stepCall(h.metaGetState)),
		pub("PUT", m+"/state/{name}", h.stepCall(h.metaPutState)),
		pub("GET", m+"/conditions", h.stepCall(h.metaConditions)),
		pub("POST", m+"/events", h.stepCall(h.metaEvent)),
	}
}

// stepCaller is a metadata API call: the step it comes from, and its run as stored now.
type stepCaller struct {
	scope auth.Step
	run   store.Run
}

// stepCall authenticates a metadata API call by its step token and hands the step to fn.
func (h *Handler) stepCall(fn func(w http.ResponseWriter, r *http.Request, s stepCaller) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if h.steps == nil || h.runs == nil {
			return &auth.Error{Msg: "the metadata API is not enabled on this server"}
		}
		scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return &auth.Error{Msg: "the metadata API takes a step token: Authorization: Bearer $RUNPLANE_STEP_TOKEN"}
		}
		scope, err := h.steps.Verify(strings.TrimSpace(tok))
		if err != nil {
			return err
		}
		job, err := h.st.GetJob(r.Context(), scope.Job)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (job.Status.Final() || job.Run != scope.Run || job.Step != scope.Step)) {
			return &auth.Error{Msg: "the step token's step is not running"}
		}
		if err != nil {
			return err
		}
		run, err := h.st.GetRun(r.Context(), scope.Run)
		if errors.Is(err, store.ErrNotFound) {
			return &auth.Error{Msg: "the step token's run is gone"}
		}
		if err != nil {
			return err
		}
		return fn(w, r, stepCaller{scope: scope, run: run})
	}
}

// metaSpec answers the step's spec with its templates resolved: {value, complete}, or with ?q= (a path such as
// `.a.b`, `{.a.b}` or `a.b`, as Relay's `ni get -p` sends it) the value there.
func (h *Handler) metaSpec(w http.ResponseWriter, r *http.Request, s stepCaller) error {
	res, err := h.resolveStep(r.Context(), s)
	if err != nil {
		return err
	}
	var v any = map[string]any{}
	if len(res.Spec) > 0 {
		if err := json.Unmarshal(res.Spec, &v); err != nil {
			return err
		}
	}
	if q := r.URL.Query().Get("q"); q != "" {
		if v, err = lookupPath(v, q); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": v, "complete": true})
	return nil
}

// metaEnvironment answers the step's env, resolved: {value: {NAME: value}}, or one variable's {value}.
func (h *Handler) metaEnvironment(w http.ResponseWriter, r *http.Request, s stepCaller) error {
	res, err := h.resolveStep(r.Context(), s)
	if err != nil {
		return err
	}
	env := map[string]string{}
	for _, e := range res.Env {
		env[e.Name] = e.Value
	}
	if name := r.PathValue("name"); name != "" {
		v, ok := env[name]
		if !ok {
			return notFound("step %s has no environment variable %q", s.scope.Step, name)
		}
		writeJSON(w, http.StatusOK, map[string]any{"value": v})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": env})
	return nil
}

func (h *Handler) resolveStep(ctx context.Context, s stepCaller) (workflow.Resolved, error) {
	sr, ok := h.runs.(StepRuns)
	if !ok {
		return workflow.Resolved{}, errors.New("httpapi: the workflow engine cannot resolve steps")
	}
	return sr.Resolve(ctx, s.run, s.scope.Step)
}

// metaSecret answers {key, value} for a secret the step's definition references; 403 for any other.
func (h *Handler) metaSecret(w http.ResponseWriter, r *http.Request, s stepCaller) error {
	sr, ok := h.runs.(StepRuns)
	if !ok {
		return errors.New("httpapi: the workflow engine cannot give secrets")
	}
	name := r.PathValue("name")
	secrets, err := sr.StepSecrets(r.Context(), s.run, s.scope.Step)
	if err != nil {
		return err
	}
	v, ok := secrets[name]
	if !ok {
		return withMsg(ErrForbidden, "forbidden: step %s does not reference secret %q", s.scope.Step, name)
	}
	writeJSON(w, http.StatusOK, map[string]any{"key": name, "value": v})
	return nil
}

// readValue reads a value body: JSON when the request says application/json, else the text as a JSON string.
func readValue(r *http.Request) (json.RawMessage, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if isBodyError(err) {
			return nil, err
		}
		return nil, api.Invalidf("read request body: %v", err)
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		if !json.Valid(body) {
			return nil, api.Invalidf("body: not valid JSON (send Content-Type text/plain for text)")
		}
		return json.RawMessage(body), nil
	}
	b, err := json.Marshal(string(body))
	return b, err
}

// metaPutOutput sets one of the step's outputs (201); it keeps a sensitive mark set before.
func (h *Handler) metaPutOutput(w http.ResponseWriter, r *http.Request, s stepCaller) error {
	name := r.PathValue("name")
	if err := checkValueName("output", name); err != nil {
		return err
	}
	v, err := readValue(r)
	if err != nil {
		return err
	}
	prev, _ := h.runValue(r.Context(), s.scope.Run, s.scope.Step, store.ValueOutput, name)
	if err := h.setValue(r, store.RunValue{Run: s.scope.Run, Step: s.scope.Step, Kind: store.ValueOutput,
		Name: name, Value: v, Sensitive: prev.Sensitive}); err != nil {
		return err
	}
	if prev.Sensitive {
		h.maskLive(s, v)
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

// masker masks a running job's log from now on; *jobs.Engine implements it.
type masker interface {
	Mask(id string, values ...string) bool
}

// maskLive masks a sensitive output's value in the rest of the log of the step's job, if this server runs it (a
// value the step printed before it marked it sensitive stays; on another replica, the value is masked in every
// answer of the API but the job's log).
func (h *Handler) maskLive(s stepCaller, v json.RawMessage) {
	m, ok := h.engine.(masker)
	if !ok {
		return
	}
	var text string
	if json.Unmarshal(v, &text) != nil {
		text = string(v)
	}
	m.Mask(s.scope.Job, text)
}

// metaOutputMetadata sets an output's metadata, {sensitive}: a sensitive output reads as the mask in every answer
// but the metadata API's. An output not set yet is created empty.
func (h *Handler) metaOutputMetadata(w http.ResponseWriter, r *http.Request, s stepCaller) error {
	name := r.PathValue("name")
	if err := checkValueName("output", name); err != nil {
		return err
	}
	var md struct {
		Sensitive bool `json:"sensitive"`
	}
	if err := decodeJSON(r.Body, &md); err != nil {
		return err
	}
	prev, err := h.runValue(r.Context(), s.scope.Run, s.scope.Step, store.ValueOutput, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if prev.Value == nil {
		prev.Value = json.RawMessage("null")
	}
	if err := h.setValue(r, store.RunValue{Run: s.scope.Run, Step: s.scope.Step, Kind: store.ValueOutput,
		Name: name, Value: prev.Value, Sensitive: md.Sensitive || prev.Sensitive}); err != nil {
		return err
	}
	if md.Sensitive || prev.Sensitive {
		h.maskLive(s, prev.Value)
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

// metaGetOutput answers another step's output of the same run, in Relay's shape {task_name, key, value,
// metadata: {sensitive}}: from what it set through this API, else from its ^JSON result.
func (h *Handler) metaGetOutput(w http.ResponseWriter, r *http.Request, s stepCaller) error {
	step, name := r.PathValue("step"), r.PathValue("name")
	v, err := h.runValue(r.Context(), s.scope.Run, step, store.ValueOutput, name)
	if errors.Is(err, store.ErrNotFound) {
		for _, st := range s.run.Steps {
			if x, ok := st.Outputs[name]; ok && st.Name == step {
				v, err = store.RunValue{Value: x}, nil
			}
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return notFound("step %q of this run has no output %q", step, name)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"task_name": step, "key": name, "value": v.Value,
		"metadata": map[string]bool{"sensitive": v.Sensitive}})
	return nil
}

func (h *Handler) metaGetState(w http.ResponseWriter, r *http.Request, s stepCaller) error {
	name := r.PathValue("name")
	v, err := h.runValue(r.Context(), s.scope.Run, s.scope.Step, store.ValueState, name)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("step %s has no state %q", s.scope.Step, name)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"key": name, "value": v.Value})
	return nil
}

func (h *Handler) metaPutState(w http.ResponseWriter, r *http.Request, s stepCaller) error {
	name := r.PathValue("name")
	if err := checkValueName("state", name); err != nil {
		return err
	}
	v, err := readValue(r)
	if err != nil {
		return err
	}
	if err := h.setValue(r, store.RunValue{Run: s.scope.Run, Step: s.scope.Step, Kind: store.ValueState, Name: name, Value: v}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

// metaConditions answers Relay's {resolved, success, message}: a step's job runs only once its when conditions
// held, so they are resolved and true by the time it asks.
func (h *Handler) metaConditions(w http.ResponseWriter, r *http.Request, s stepCaller) error {
	writeJSON(w, http.StatusOK, map[string]any{"resolved": true, "success": true, "message": "every when condition held"})
	return nil
}

// setValue stores a value a step sent once its body was read, even if the step's client half-closed the
// connection after sending (busybox nc does), which ends the request's context.
func (h *Handler) setValue(r *http.Request, v store.RunValue) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
	defer cancel()
	return h.st.SetRunValue(ctx, v)
}

// runValue returns one value of a run; store.ErrNotFound if it is not set.
func (h *Handler) runValue(ctx context.Context, run, step, kind, name string) (store.RunValue, error) {
	values, err := h.st.RunValues(ctx, run)
	if err != nil {
		return store.RunValue{}, err
	}
	for _, v := range values {
		if v.Step == step && v.Kind == kind && v.Name == name {
			return v, nil
		}
	}
	return store.RunValue{}, store.ErrNotFound
}

// checkValueName refuses an output or state name that is empty, long, or not printable.
func checkValueName(kind, name string) error {
	if name == "" || len(name) > 253 {
		return api.Invalidf("%s name: 1 to 253 characters", kind)
	}
	for _, c := range name {
		if c < 0x21 || c == 0x7f {
			return api.Invalidf("%s name %q: no spaces or control characters", kind, name)
		}
	}
	return nil
}

// lookupPath follows a path such as `.a.b[0]`, `{.a.b}` or `a.b` into v.
func lookupPath(v any, q string) (any, error) {
	q = strings.TrimSpace(q)
	q = strings.TrimSuffix(strings.TrimPrefix(q, "{"), "}")
	q = strings.TrimPrefix(q, "$")
	q = strings.TrimPrefix(q, ".")
	if q == "" {
		return v, nil
	}
	for _, part := range strings.Split(strings.ReplaceAll(q, "[", "."), ".") {
		part = strings.TrimSuffix(part, "]")
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[part]
			if !ok {
				return nil, notFound("the spec has nothing at %q", q)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil, notFound("the spec has nothing at %q", q)
			}
			v = x[i]
		default:
			return nil, notFound("the spec has nothing at %q", q)
		}
	}
	return v, nil
}
