package promise

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/runplane/runplane/api"
)

// MaxDocumentBytes bounds a promise or request document; callers bound their input before anyway.
const MaxDocumentBytes = 4 << 20

// ToJSON turns a YAML or JSON document into JSON. Duplicate keys are refused, as kubectl refuses them.
func ToJSON(doc []byte) ([]byte, error) {
	if len(doc) > MaxDocumentBytes {
		return nil, api.Invalidf("document is larger than %d bytes", MaxDocumentBytes)
	}
	trimmed := bytes.TrimSpace(doc)
	if len(trimmed) == 0 {
		return nil, api.Invalidf("document is empty")
	}
	if trimmed[0] == '{' {
		if !json.Valid(trimmed) {
			var v any
			err := json.Unmarshal(trimmed, &v)
			return nil, api.Invalidf("document is not valid JSON: %v", err)
		}
		return trimmed, nil
	}
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, api.Invalidf("document is not valid YAML: %v", strings.TrimPrefix(err.Error(), "error converting YAML to JSON: "))
	}
	return j, nil
}

// Parse reads a Promise file as Kratix takes it: apiVersion platform.kratix.io/v1alpha1, kind Promise, a name,
// and a spec. Fields runplane does not know (finalizers, managedFields, newer Kratix fields) are ignored, and
// status is dropped: the server writes it. spec.api, when present, must be a CustomResourceDefinition that
// ParseAPI accepts; a promise without one (dependencies only) is valid, as in Kratix.
func Parse(doc []byte) (api.Promise, error) {
	j, err := ToJSON(doc)
	if err != nil {
		return api.Promise{}, err
	}
	var head struct {
		APIVersion json.RawMessage `json:"apiVersion"`
		Kind       json.RawMessage `json:"kind"`
		Metadata   json.RawMessage `json:"metadata"`
		Spec       json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(j, &head); err != nil {
		return api.Promise{}, api.Invalidf("a promise must be a mapping: %v", trimJSONErr(err))
	}
	var p api.Promise
	if err := strictString(head.APIVersion, &p.APIVersion); err != nil || p.APIVersion != api.KratixAPIVersion {
		return api.Promise{}, api.Invalidf("apiVersion: Unsupported value: %s: supported values: %q", shown(head.APIVersion), api.KratixAPIVersion)
	}
	if err := strictString(head.Kind, &p.Kind); err != nil || p.Kind != api.KindPromise {
		return api.Promise{}, api.Invalidf("kind: Unsupported value: %s: supported values: %q", shown(head.Kind), api.KindPromise)
	}
	if err := decodeField("metadata", head.Metadata, &p.Metadata); err != nil {
		return api.Promise{}, err
	}
	if err := decodeField("spec", head.Spec, &p.Spec); err != nil {
		return api.Promise{}, err
	}
	if err := ValidateName("metadata.name", p.Metadata.Name); err != nil {
		return api.Promise{}, err
	}
	p.Metadata.Namespace = "" // a promise is cluster-scoped: the API server ignores a namespace given to one
	p.Metadata.Generation, p.Metadata.UID, p.Metadata.ResourceVersion, p.Metadata.CreationTimestamp = 0, "", "", nil
	if err := checkSpec(&p.Spec); err != nil {
		return api.Promise{}, err
	}
	return p, nil
}

// Validate checks a promise that arrived already decoded (a JSON body), as Parse would.
func Validate(p *api.Promise) error {
	if p.APIVersion != api.KratixAPIVersion {
		return api.Invalidf("apiVersion: Unsupported value: %q: supported values: %q", p.APIVersion, api.KratixAPIVersion)
	}
	if p.Kind != api.KindPromise {
		return api.Invalidf("kind: Unsupported value: %q: supported values: %q", p.Kind, api.KindPromise)
	}
	if err := ValidateName("metadata.name", p.Metadata.Name); err != nil {
		return err
	}
	p.Metadata.Namespace = ""
	return checkSpec(&p.Spec)
}

func checkSpec(s *api.PromiseSpec) error {
	// An empty or null spec.api is no API, as Kratix reads it.
	if a := string(bytes.TrimSpace(s.API)); a != "" && a != "null" && a != "{}" {
		if _, err := ParseAPI(s.API); err != nil {
			return err
		}
	} else {
		s.API = nil
	}
	seen := map[string]bool{}
	for i, r := range s.RequiredPromises {
		path := fmt.Sprintf("spec.requiredPromises[%d]", i)
		if err := ValidateName(path+".name", r.Name); err != nil {
			return err
		}
		if r.Version == "" {
			return api.Invalidf("%s.version: Required value", path)
		}
		if seen[r.Name] {
			return api.Invalidf("%s.name: Duplicate value: %q", path, r.Name)
		}
		seen[r.Name] = true
	}
	for i, d := range s.Dependencies {
		var m map[string]any
		if json.Unmarshal(d, &m) != nil || m == nil {
			return api.Invalidf("spec.dependencies[%d]: Invalid value: must be a Kubernetes object (a mapping)", i)
		}
	}
	if ns := s.Workflows.Config.PipelineNamespace; ns != "" {
		if err := ValidateLabel("spec.workflows.config.pipelineNamespace", ns); err != nil {
			return err
		}
	}
	if iv := s.Workflows.Config.ReconciliationInterval; iv != "" {
		if _, err := api.ParseDuration(iv); err != nil {
			return api.Invalidf("spec.workflows.config.reconciliationInterval: Invalid value: %q: %v", iv, err)
		}
	}
	for _, w := range []struct {
		path string
		ps   []api.Pipeline
	}{
		{"spec.workflows.resource.configure", s.Workflows.Resource.Configure},
		{"spec.workflows.resource.delete", s.Workflows.Resource.Delete},
		{"spec.workflows.promise.configure", s.Workflows.Promise.Configure},
		{"spec.workflows.promise.delete", s.Workflows.Promise.Delete},
	} {
		if err := checkPipelines(w.path, w.ps); err != nil {
			return err
		}
	}
	return nil
}

// checkPipelines checks what Kratix's admission webhook checks: each pipeline named, unique in its list, with
// containers that have a name and an image.
func checkPipelines(path string, ps []api.Pipeline) error {
	seen := map[string]bool{}
	for i, p := range ps {
		at := fmt.Sprintf("%s[%d]", path, i)
		if p.Kind != "" && p.Kind != "Pipeline" {
			return api.Invalidf("%s.kind: Unsupported value: %q: supported values: \"Pipeline\"", at, p.Kind)
		}
		if err := ValidateName(at+".metadata.name", p.Metadata.Name); err != nil {
			return err
		}
		if seen[p.Metadata.Name] {
			return api.Invalidf("%s.metadata.name: Duplicate value: %q", at, p.Metadata.Name)
		}
		seen[p.Metadata.Name] = true
		if len(p.Spec.Containers) == 0 {
			return api.Invalidf("%s.spec.containers: Required value: a pipeline runs at least one container", at)
		}
		names := map[string]bool{}
		for j, c := range p.Spec.Containers {
			cat := fmt.Sprintf("%s.spec.containers[%d]", at, j)
			if c.Name == "" {
				return api.Invalidf("%s.name: Required value", cat)
			}
			if names[c.Name] {
				return api.Invalidf("%s.name: Duplicate value: %q", cat, c.Name)
			}
			names[c.Name] = true
			if c.Image == "" {
				return api.Invalidf("%s.image: Required value", cat)
			}
		}
	}
	return nil
}

// ValidateName checks a Kubernetes object name as a DNS-1123 subdomain of at most 63 characters (it becomes a
// path segment in state stores and part of job names).
func ValidateName(path, n string) error {
	if n == "" {
		return api.Invalidf("%s: Required value: name is required", path)
	}
	if len(n) > 63 {
		return api.Invalidf("%s: Invalid value: %.20q...: must be no more than 63 characters", path, n)
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		alnum := (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		edge := i == 0 || i == len(n)-1
		if !alnum && (edge || (c != '-' && c != '.')) {
			return api.Invalidf("%s: Invalid value: %q: a lowercase RFC 1123 subdomain must consist of lower case "+
				"alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", path, n)
		}
	}
	return nil
}

// ValidateLabel checks a Kubernetes namespace name: an RFC 1123 label (no dots), as the API server checks it.
func ValidateLabel(path, n string) error {
	if err := ValidateName(path, n); err != nil {
		return err
	}
	if strings.Contains(n, ".") {
		return api.Invalidf("%s: Invalid value: %q: a lowercase RFC 1123 label must consist of lower case "+
			"alphanumeric characters or '-', and must start and end with an alphanumeric character", path, n)
	}
	return nil
}

func strictString(raw json.RawMessage, out *string) error {
	if len(raw) == 0 {
		return fmt.Errorf("missing")
	}
	return json.Unmarshal(raw, out)
}

// decodeField decodes one part of a document, naming it in the error.
func decodeField(name string, raw json.RawMessage, out any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return api.Invalidf("%s: Invalid value: %s", name, trimJSONErr(err))
	}
	return nil
}

// shown is a raw JSON value for a message, "" when absent.
func shown(raw json.RawMessage) string {
	if len(raw) == 0 {
		return `""`
	}
	if len(raw) > 64 {
		return string(raw[:64]) + "..."
	}
	return string(raw)
}

func trimJSONErr(err error) string {
	s := strings.TrimPrefix(err.Error(), "json: ")
	if ute, ok := err.(*json.UnmarshalTypeError); ok {
		want := ute.Type.Kind().String()
		switch ute.Type.Kind() {
		case reflect.Struct, reflect.Map:
			want = "object"
		case reflect.Slice, reflect.Array:
			want = "array"
		case reflect.Int, reflect.Int32, reflect.Int64:
			want = "integer"
		}
		if ute.Field == "" {
			return fmt.Sprintf("must be %s, not %s", want, ute.Value)
		}
		return fmt.Sprintf("%s: must be %s, not %s", ute.Field, want, ute.Value)
	}
	return s
}
