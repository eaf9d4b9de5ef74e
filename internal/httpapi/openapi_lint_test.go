package httpapi

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// redocly lint (`npx @redocly/cli@2.77.0 lint internal/httpapi/openapi.json`, with the repository's redocly.yaml)
// reports nothing for the document. lintOpenAPI checks the rules it applied that a hand edit is most likely to
// break, so the document cannot regress where node is not installed.

var (
	httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}
	status4xx   = regexp.MustCompile(`^4([0-9][0-9]|XX)$`)
	pathVar     = regexp.MustCompile(`\{([^}]*)\}`)
)

// lintOpenAPI returns the problems it finds in an OpenAPI 3.1 document.
func lintOpenAPI(doc map[string]any) []string {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if doc["openapi"] != "3.1.0" {
		bad("openapi = %v, want 3.1.0", doc["openapi"])
	}
	for _, k := range []string{"title", "version", "description"} {
		if s, _ := dig(doc, "info", k).(string); s == "" {
			bad("info.%s is missing", k)
		}
	}
	tags := map[string]bool{}
	for _, t := range asList(doc["tags"]) {
		name, _ := dig(t, "name").(string)
		tags[name] = true
		if d, _ := dig(t, "description").(string); d == "" {
			bad("tag %q has no description", name)
		}
	}
	global := len(asList(doc["security"])) > 0
	ids := map[string]string{}
	paths, _ := doc["paths"].(map[string]any)
	for _, path := range sortedKeys(paths) {
		item, _ := paths[path].(map[string]any)
		for _, m := range httpMethods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			where := strings.ToUpper(m) + " " + path
			id, _ := op["operationId"].(string)
			switch {
			case id == "":
				bad("%s: no operationId", where)
			case ids[id] != "":
				bad("%s: operationId %q is also %s's", where, id, ids[id])
			default:
				ids[id] = where
			}
			if s, _ := op["summary"].(string); s == "" {
				bad("%s: no summary", where)
			}
			for _, t := range asList(op["tags"]) {
				if name, _ := t.(string); !tags[name] {
					bad("%s: tag %q is not declared", where, name)
				}
			}
			if _, ok := op["security"]; !ok && !global {
				bad("%s: no security, and the document has none", where)
			}
			responses, _ := op["responses"].(map[string]any)
			if !slices.ContainsFunc(sortedKeys(responses), status4xx.MatchString) {
				bad("%s: no 4xx response", where)
			}
			for code, r := range responses {
				if d, _ := resolve(doc, r)["description"].(string); d == "" {
					bad("%s: response %s has no description", where, code)
				}
			}
			probs = append(probs, checkPathParams(doc, where, path, item, op)...)
		}
	}
	walkRefs(doc, func(ref string) {
		if !resolves(doc, ref) {
			bad("$ref %q does not resolve", ref)
		}
	})
	return probs
}

// checkPathParams checks that the path's template variables and the operation's path parameters (its own and
// its path item's) are the same names, each required.
func checkPathParams(doc map[string]any, where, path string, item, op map[string]any) []string {
	var probs []string
	declared := map[string]bool{}
	for _, p := range append(asList(item["parameters"]), asList(op["parameters"])...) {
		p := resolve(doc, p)
		if p["in"] != "path" {
			continue
		}
		name, _ := p["name"].(string)
		declared[name] = true
		if p["required"] != true {
			probs = append(probs, fmt.Sprintf("%s: path parameter %q is not required", where, name))
		}
	}
	for _, m := range pathVar.FindAllStringSubmatch(path, -1) {
		if !declared[m[1]] {
			probs = append(probs, fmt.Sprintf("%s: path parameter %q is not declared", where, m[1]))
		}
		delete(declared, m[1])
	}
	for name := range declared {
		probs = append(probs, fmt.Sprintf("%s: parameter %q is not in the path", where, name))
	}
	return probs
}

// resolve follows a $ref to what it names; v itself when it is no reference.
func resolve(doc map[string]any, v any) map[string]any {
	m, _ := v.(map[string]any)
	if ref, ok := m["$ref"].(string); ok {
		m, _ = dig(doc, strings.Split(strings.TrimPrefix(ref, "#/"), "/")...).(map[string]any)
	}
	return m
}

// walkRefs calls f with every $ref string in v.
func walkRefs(v any, f func(ref string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if ref, ok := x.(string); ok && k == "$ref" {
				f(ref)
			}
			walkRefs(x, f)
		}
	case []any:
		for _, x := range v {
			walkRefs(x, f)
		}
	}
}

func asList(v any) []any { l, _ := v.([]any); return l }

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestOpenAPILint(t *testing.T) {
	t.Parallel()
	var doc map[string]any
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range lintOpenAPI(doc) {
		t.Error(p)
	}
}

// TestLintOpenAPI checks that the lint finds what it is for, one broken document per rule.
func TestLintOpenAPI(t *testing.T) {
	t.Parallel()
	const good = `{"openapi": "3.1.0", "info": {"title": "t", "version": "v1", "description": "d"},
		"security": [{"k": []}], "tags": [{"name": "a", "description": "A."}],
		"paths": {"/x/{id}": {"get": {"operationId": "getX", "summary": "Get", "tags": ["a"],
			"parameters": [{"$ref": "#/components/parameters/id"}],
			"responses": {"200": {"description": "OK"}, "404": {"$ref": "#/components/responses/NotFound"}}}}},
		"components": {"parameters": {"id": {"name": "id", "in": "path", "required": true}},
			"responses": {"NotFound": {"description": "No such x."}}}}`
	tests := []struct {
		name string
		edit func(doc map[string]any)
		want string // a problem reported; "" for none
	}{
		{"good", func(map[string]any) {}, ""},
		{"tag without description", func(d map[string]any) { delete(dig(d, "tags").([]any)[0].(map[string]any), "description") }, `tag "a" has no description`},
		{"undeclared tag", func(d map[string]any) { op(d)["tags"] = []any{"b"} }, `tag "b" is not declared`},
		{"no operationId", func(d map[string]any) { delete(op(d), "operationId") }, "no operationId"},
		{"no summary", func(d map[string]any) { delete(op(d), "summary") }, "no summary"},
		{"no 4xx", func(d map[string]any) { delete(op(d)["responses"].(map[string]any), "404") }, "no 4xx response"},
		{"4XX range counts", func(d map[string]any) {
			r := op(d)["responses"].(map[string]any)
			r["4XX"] = r["404"]
			delete(r, "404")
		}, ""},
		{"no security", func(d map[string]any) { delete(d, "security") }, "no security"},
		{"public operation", func(d map[string]any) { delete(d, "security"); op(d)["security"] = []any{} }, ""},
		{"dangling ref", func(d map[string]any) { delete(dig(d, "components", "responses").(map[string]any), "NotFound") }, `"#/components/responses/NotFound" does not resolve`},
		{"undeclared path parameter", func(d map[string]any) { op(d)["parameters"] = []any{} }, `path parameter "id" is not declared`},
		{"parameter not in path", func(d map[string]any) {
			p := d["paths"].(map[string]any)
			p["/x"] = p["/x/{id}"]
			delete(p, "/x/{id}")
		}, `parameter "id" is not in the path`},
		{"response without description", func(d map[string]any) { op(d)["responses"].(map[string]any)["200"] = map[string]any{} }, "response 200 has no description"},
		{"no info description", func(d map[string]any) { delete(d["info"].(map[string]any), "description") }, "info.description is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var doc map[string]any
			if err := json.Unmarshal([]byte(good), &doc); err != nil {
				t.Fatal(err)
			}
			tt.edit(doc)
			probs := lintOpenAPI(doc)
			if tt.want == "" && len(probs) > 0 {
				t.Errorf("lintOpenAPI = %q, want no problems", probs)
			}
			if tt.want != "" && !slices.ContainsFunc(probs, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("lintOpenAPI = %q, want a problem containing %q", probs, tt.want)
			}
		})
	}
}

func op(doc map[string]any) map[string]any {
	return dig(doc, "paths", "/x/{id}", "get").(map[string]any)
}
