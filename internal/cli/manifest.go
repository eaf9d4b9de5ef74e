package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/promise"
	"github.com/runplane/runplane/internal/trigger/cron"
	"github.com/runplane/runplane/internal/workflow"
)

// Kinds of document `runplane apply` understands.
const (
	kindRunner      = "Runner"
	kindTask        = "Task"
	kindWorkflow    = "Workflow"
	kindEventSink   = "EventSink"
	kindCronJob     = "CronJob"
	kindGroup       = "Group"
	kindUser        = "User"
	kindRole        = "Role"
	kindRoleBinding = "RoleBinding"
	kindEventRules  = "EventRules"
	kindPromise     = "Promise"
	kindDefinition  = "CompositionDefinition"
	// kindRequest stands for a resource request of a promise's API, whatever its kind (applypromise.go).
	kindRequest = "resource request"
	// kindComposition stands for a Krateo composition (apiVersion composition.krateo.io/...), whatever its kind.
	kindComposition = "composition"
)

// kinds lists the kinds in the order apply sends them (see applyCommand for why groups come before users).
var kinds = []string{kindRunner, kindTask, kindWorkflow, kindCronJob, kindEventSink, kindGroup, kindUser, kindRole, kindRoleBinding, kindEventRules,
	kindGitStateStore, kindDirectoryStateStore, kindDestination, kindPromise, kindDefinition, kindRequest, kindComposition}

// kindList is kinds for messages: "Runner, Task, ... or Promise".
var kindList = func() string {
	ks := slices.DeleteFunc(slices.Clone(kinds), func(k string) bool { return k == kindRequest || k == kindComposition })
	return strings.Join(ks[:len(ks)-1], ", ") + " or " + ks[len(ks)-1] + ", or the kind of a promise's API"
}()

// manifest is one document read from a file. Exactly one of the object fields is set, the one of its kind.
type manifest struct {
	source  string // `examples/x.yaml (document 2)`, for errors
	kind    string
	runner  api.Runner
	task    api.Task
	flow    api.Workflow
	sink    api.EventSink
	cron    api.CronJob
	user    userDoc
	group   groupDoc
	role    roleDoc
	binding bindingDoc
	rules   api.EventRules
	store   api.StateStore
	dest    api.Destination
	promise api.Promise
	// definition is a Krateo CompositionDefinition.
	definition api.CompositionDefinition
	// request is a resource request of the promise reqPromise (resolveRequests finds it), whose API is reqAPI.
	request    api.ResourceRequest
	reqPromise string
	reqAPI     *promise.API
}

func (m manifest) name() string {
	switch m.kind {
	case kindRunner:
		return m.runner.Name
	case kindTask:
		return m.task.Name
	case kindWorkflow:
		return m.flow.Name
	case kindEventSink:
		return m.sink.Name
	case kindCronJob:
		return m.cron.Name
	case kindUser:
		return m.user.Username
	case kindGroup:
		return m.group.Name
	case kindRole:
		return m.role.Name
	case kindEventRules:
		return m.rules.Name
	case kindGitStateStore, kindDirectoryStateStore:
		return m.store.Name
	case kindDestination:
		return m.dest.Name
	case kindPromise:
		return m.promise.Metadata.Name
	case kindDefinition:
		return m.definition.Metadata.Namespace + "/" + m.definition.Metadata.Name
	case kindRequest:
		return m.request.Metadata.Name
	case kindComposition:
		return m.request.Metadata.Namespace + "/" + m.request.Metadata.Name
	}
	return m.binding.Name
}

// ref is how apply names the object: kind/NAME, lower case, as in runner/examples or rolebinding/ops. A user or
// group of a provider other than local says so, since names are unique only per provider.
func (m manifest) ref() string {
	if m.kind == kindRequest || m.kind == kindComposition {
		return requestRef(m.request)
	}
	return strings.ToLower(m.kind) + "/" + m.name() + providerSuffix(m.provider())
}

// provider returns the identity provider of a user or group document ("" for other kinds).
func (m manifest) provider() string {
	switch m.kind {
	case kindUser:
		return m.user.Provider
	case kindGroup:
		return m.group.Provider
	}
	return ""
}

// errNoManifests is a directory without a document file.
var errNoManifests = errors.New("no .yaml, .yml or .json files in the directory")

// manifestSource is one file's content.
type manifestSource struct {
	name string
	data []byte
	json bool // parse as a stream of JSON values rather than YAML documents
}

// readManifestSources expands -f arguments: "-" is stdin, a directory is its *.yaml, *.yml and *.json files in name
// order (and, with recursive, those of its subdirectories, depth first), anything else a file.
func readManifestSources(paths []string, stdin io.Reader, recursive bool) ([]manifestSource, error) {
	var out []manifestSource
	for _, p := range paths {
		if p == "-" {
			b, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("apply -: read stdin: %w", err)
			}
			out = append(out, manifestSource{name: "-", data: b})
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("apply %s: %w", p, pathErr(err))
		}
		if !st.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("apply %s: %w", p, pathErr(err))
			}
			out = append(out, manifestSource{name: p, data: b, json: strings.EqualFold(filepath.Ext(p), ".json")})
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("apply %s: %w", p, pathErr(err))
		}
		n := len(out)
		for _, e := range entries { // ReadDir sorts by name
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if e.IsDir() && recursive && !strings.HasPrefix(e.Name(), ".") {
				sub, err := readManifestSources([]string{filepath.Join(p, e.Name())}, stdin, true)
				if err != nil && !errors.Is(err, errNoManifests) {
					return nil, err
				}
				out = append(out, sub...)
				continue
			}
			if e.IsDir() || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
				continue
			}
			fp := filepath.Join(p, e.Name())
			b, err := os.ReadFile(fp)
			if err != nil {
				return nil, fmt.Errorf("apply %s: %w", fp, pathErr(err))
			}
			out = append(out, manifestSource{name: fp, data: b, json: ext == ".json"})
		}
		if len(out) == n {
			return nil, fmt.Errorf("apply %s: %w", p, errNoManifests)
		}
	}
	return out, nil
}

// pathErr drops the path an *fs.PathError repeats.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// parseManifests reads every document of src. Documents are numbered from 1, counting only non-empty ones.
func parseManifests(src manifestSource) ([]manifest, error) {
	docs, err := splitDocuments(src)
	if err != nil {
		var de *docError
		if errors.As(err, &de) {
			return nil, fmt.Errorf("apply %s (document %d): %w", src.name, de.n, de.err)
		}
		return nil, fmt.Errorf("apply %s: %w", src.name, err)
	}
	var out []manifest
	for i, doc := range docs {
		var m manifest
		if doc.workflow {
			m, err = parseWorkflowDoc(doc.data, src, len(docs))
		} else {
			m, err = parseManifest(doc.data)
		}
		m.source = fmt.Sprintf("%s (document %d)", src.name, i+1)
		if err != nil {
			return nil, fmt.Errorf("apply %s: %w", m.source, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// docError is a document that could not be read at all.
type docError struct {
	n   int
	err error
}

func (e *docError) Error() string { return fmt.Sprintf("document %d: %v", e.n, e.err) }

// rawDoc is one document of a source: JSON, or for a workflow the document as written (YAML keeps Relay's tags,
// which workflow.Parse reads).
type rawDoc struct {
	data     []byte
	workflow bool
}

// splitDocuments returns each non-empty document of src: as JSON, or as written for a workflow.
func splitDocuments(src manifestSource) ([]rawDoc, error) {
	var out []rawDoc
	if src.json {
		dec := json.NewDecoder(bytes.NewReader(src.data))
		for {
			var v json.RawMessage
			err := dec.Decode(&v)
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if err != nil {
				return nil, &docError{len(out) + 1, fmt.Errorf("invalid JSON: %w", err)}
			}
			// A top-level array holds several documents.
			var items []json.RawMessage
			if json.Unmarshal(v, &items) != nil {
				items = []json.RawMessage{v}
			}
			for _, it := range items {
				out = append(out, rawDoc{data: it, workflow: isWorkflowJSON(it)})
			}
		}
	}
	for _, doc := range splitYAML(src.data) {
		if isWorkflowYAML(doc) {
			out = append(out, rawDoc{data: doc, workflow: true})
			continue
		}
		j, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return nil, &docError{len(out) + 1, fmt.Errorf("invalid YAML: %w", err)}
		}
		if string(j) == "null" {
			continue // only comments or whitespace
		}
		out = append(out, rawDoc{data: j})
	}
	return out, nil
}

// splitYAML cuts a YAML stream at lines that are exactly "---" (optionally followed by spaces), as kubectl does.
func splitYAML(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "---") && strings.TrimSpace(line[3:]) == "" {
			docs = append(docs, slices.Clone(cur.Bytes()))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	return append(docs, cur.Bytes())
}

// parseManifest turns one JSON document into an object of a known kind. Both the flat form ({kind, name,
// ...fields}) and the Kubernetes form ({kind, metadata: {name}, spec: {...fields}}) are accepted; apiVersion is
// ignored. Unknown fields are errors, so a misspelt field is not silently dropped. A User is named by username,
// which metadata.name fills in the Kubernetes form.
func parseManifest(doc []byte) (manifest, error) {
	var m manifest
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(doc, &fields); err != nil || fields == nil {
		return m, errors.New("a document must be a mapping with a kind")
	}
	if err := json.Unmarshal(fields["kind"], &m.kind); err != nil || m.kind == "" {
		return m, fmt.Errorf("kind is missing: want %s", kindList)
	}
	if m.kind == kindPromise {
		return parsePromiseDoc(doc)
	}
	if m.kind == kindDefinition {
		return parseDefinitionDoc(doc)
	}
	if isCompositionDoc(fields) {
		return parseCompositionDoc(doc)
	}
	if !slices.Contains(kinds, m.kind) || m.kind == kindRequest || m.kind == kindComposition {
		if isRequestDoc(fields) {
			return parseRequestDoc(doc)
		}
		return m, fmt.Errorf("unknown kind %q: want %s", m.kind, kindList)
	}
	if m.kind == kindWorkflow {
		return parseWorkflowDoc(doc, manifestSource{}, 0)
	}
	if api.IsStateStoreManifestKind(m.kind) {
		return parseStateStoreDoc(m.kind, doc, fields)
	}
	delete(fields, "kind")
	if m.kind != kindEventRules { // a Keptn config's apiVersion (v2) is its own
		delete(fields, "apiVersion")
	}
	nameKey := "name"
	if m.kind == kindUser {
		nameKey = "username"
	}
	body, err := flatten(fields, nameKey)
	if err != nil {
		return m, err
	}
	var target any
	switch m.kind {
	case kindRunner:
		target = &m.runner
	case kindTask:
		target = &m.task
	case kindEventSink:
		target = &m.sink
	case kindCronJob:
		// api.CronJob reads itself (it takes "disabled" for "disable"), so the decoder cannot refuse unknown
		// fields: checkCronJobFields does.
		if err := checkCronJobFields(body); err != nil {
			return m, fmt.Errorf("%s: %w", m.kind, err)
		}
		target = &m.cron
	case kindUser:
		target = &m.user
	case kindGroup:
		target = &m.group
	case kindRole:
		target = &m.role
	case kindRoleBinding:
		target = &m.binding
	case kindEventRules:
		target = &m.rules
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(target); err != nil {
		return m, fmt.Errorf("%s: %s", m.kind, strings.TrimPrefix(err.Error(), "json: "))
	}
	if err := m.validate(); err != nil {
		return m, fmt.Errorf("%s: %w", m.kind, err)
	}
	return m, nil
}

// validate checks a document without a server, filling in the default provider.
func (m *manifest) validate() error {
	switch m.kind {
	case kindRunner:
		return m.runner.Validate()
	case kindTask:
		return m.task.Validate()
	case kindWorkflow:
		return workflow.Validate(m.flow, nil)
	case kindEventSink:
		if m.sink.Types == nil {
			m.sink.Types = []string{} // as the server answers it
		}
		return m.sink.Validate()
	case kindCronJob:
		_, err := cron.Check(&m.cron)
		return err
	case kindPromise, kindRequest, kindDefinition, kindComposition:
		return nil // checked when parsed
	case kindEventRules:
		if m.rules.APIVersion != "v2" {
			return fmt.Errorf("apiVersion %s is not supported, use v2", m.rules.APIVersion)
		}
		return api.ValidateName(m.rules.Name)
	}
	return m.validateIdentity()
}

// flatten turns the Kubernetes form into the flat one, metadata.name becoming the field nameKey.
func flatten(fields map[string]json.RawMessage, nameKey string) ([]byte, error) {
	meta, hasMeta := fields["metadata"]
	spec, hasSpec := fields["spec"]
	if !hasMeta && !hasSpec {
		return json.Marshal(fields)
	}
	if len(fields) != btoi(hasMeta)+btoi(hasSpec) {
		return nil, errors.New("a document with metadata or spec must hold its fields under spec")
	}
	var md struct {
		Name string `json:"name"`
	}
	if hasMeta {
		if err := json.Unmarshal(meta, &md); err != nil {
			return nil, fmt.Errorf("metadata: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	out := map[string]json.RawMessage{}
	if hasSpec {
		if err := json.Unmarshal(spec, &out); err != nil || out == nil {
			return nil, errors.New("spec must be a mapping")
		}
	}
	if md.Name != "" {
		if _, ok := out[nameKey]; ok {
			return nil, fmt.Errorf("%s is given both in metadata and in spec", nameKey)
		}
		out[nameKey], _ = json.Marshal(md.Name)
	}
	return json.Marshal(out)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
