package httpapi

import (
	"encoding/json"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// TestOpenAPICoversRoutes keeps the hand-kept OpenAPI document and the route table in step: every route is
// documented and every documented operation is a route. Wildcard names may differ (POST /jobs/{task} shares the
// OpenAPI path /jobs/{id} with GET), so they are compared as {}.
func TestOpenAPICoversRoutes(t *testing.T) {
	t.Parallel()
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+wildcard.ReplaceAllString(path, "{}"))
		}
	}
	var routed []string
	for _, rt := range (&Handler{}).table() {
		routed = append(routed, rt.Method+" "+wildcard.ReplaceAllString(rt.Path, "{}"))
	}
	sort.Strings(documented)
	sort.Strings(routed)
	if diff := cmp.Diff(routed, documented); diff != "" {
		t.Errorf("routes (-) vs OpenAPI operations (+):\n%s", diff)
	}
}

// TestOpenAPIRefsResolve checks that every $ref in the document points at a component that exists.
func TestOpenAPIRefsResolve(t *testing.T) {
	t.Parallel()
	var doc map[string]any
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "$ref" {
					ref, _ := x.(string)
					if !resolves(doc, ref) {
						t.Errorf("$ref %q does not resolve", ref)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
}

func resolves(doc map[string]any, ref string) bool {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	var cur any = doc
	for _, seg := range strings.Split(path, "/") {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~") // RFC 6901
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[seg]; !ok {
			return false
		}
	}
	return true
}

// TestOpenAPIPublicRoutes checks that the operations the document marks as needing no credentials are exactly
// the public routes.
func TestOpenAPIPublicRoutes(t *testing.T) {
	t.Parallel()
	var doc struct {
		Paths map[string]map[string]struct {
			Security *[]any `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	for _, rt := range (&Handler{}).table() {
		for path, ops := range doc.Paths {
			if wildcard.ReplaceAllString(path, "{}") != wildcard.ReplaceAllString(rt.Path, "{}") {
				continue
			}
			op, ok := ops[strings.ToLower(rt.Method)]
			if !ok {
				continue
			}
			// The metadata API's routes pass the route adapter without user credentials: each handler checks a
			// step token instead (metadata.go), which the document says with the stepToken scheme.
			public := op.Security != nil && (len(*op.Security) == 0 || stepTokenOnly(*op.Security))
			if public != rt.Public {
				t.Errorf("%s %s: OpenAPI public = %v, route public = %v", rt.Method, rt.Path, public, rt.Public)
			}
		}
	}
}

// TestOpenAPISchemasMatchTypes checks that the documented properties of some wire types are exactly their JSON
// fields, so a field added to the Go type is documented too.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	t.Parallel()
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	types := map[string]any{
		"Task":                 api.Task{},
		"TaskKubernetes":       api.TaskKubernetes{},
		"TaskResources":        api.TaskResources{},
		"ResourceRequirements": api.ResourceRequirements{},
		"Toleration":           api.Toleration{},
		"ContainerKubernetes":  api.ContainerKubernetes{},
		"Runner":               api.Runner{},
		"Webhook":              api.Webhook{},
		"StateStore":           api.StateStore{},
		"GitCredentials":       api.GitCredentials{},
		"Destination":          api.Destination{},
		"WorkflowGraph":        api.WorkflowGraph{},
		"GraphStep":            api.GraphStep{},
		"CallerAccess":         api.CallerAccess{},
	}
	for name, v := range types {
		var want []string
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			if tag != "" && tag != "-" {
				want = append(want, tag)
			}
		}
		var got []string
		for p := range doc.Components.Schemas[name].Properties {
			got = append(got, p)
		}
		sort.Strings(want)
		sort.Strings(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("schema %s: JSON fields of api.%s (-) vs documented properties (+):\n%s", name, name, diff)
		}
	}
}

// stepTokenOnly reports whether an operation's security requirements are the step token alone.
func stepTokenOnly(security []any) bool {
	if len(security) != 1 {
		return false
	}
	req, ok := security[0].(map[string]any)
	_, step := req["stepToken"]
	return ok && len(req) == 1 && step
}
