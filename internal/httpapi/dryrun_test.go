package httpapi

import (
	"encoding/json"
	"net/url"
	"testing"
)

func TestParseDryRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, query string
		want        bool
		wantErr     bool
	}{
		{"none", "", false, false},
		{"kubectl", "dryRun=All", true, false},
		{"any case", "dryRun=all", true, false},
		{"snake case", "dry_run=true", true, false},
		{"snake case off", "dry_run=false", false, false},
		{"kubectl's client value", "dryRun=Client", false, true},
		{"empty", "dryRun=", false, true},
		{"not a bool", "dry_run=yes", false, true},
		{"both", "dryRun=All&dry_run=false", true, false},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		got, err := parseDryRun(q)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("%s: parseDryRun(%q) = %v, %v; want %v, error %v", tt.name, tt.query, got, err, tt.want, tt.wantErr)
		}
	}
}

// FuzzParseDryRun: any query either fails with a 400 or says dry only when it asked for it.
func FuzzParseDryRun(f *testing.F) {
	for _, s := range []string{"dryRun=All", "dry_run=1", "dryRun=x&dry_run=true", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		dry, err := parseDryRun(q)
		if err != nil && dry {
			t.Errorf("parseDryRun(%q) = true with error %v", raw, err)
		}
		if dry && q.Get("dryRun") == "" && q.Get("dry_run") == "" && len(q["dryRun"]) == 0 && len(q["dry_run"]) == 0 {
			t.Errorf("parseDryRun(%q) = true without a parameter", raw)
		}
	})
}

func TestExpandRefs(t *testing.T) {
	t.Parallel()
	refs := map[string]string{"g": "id-1", "u": "id-2"}
	tests := []struct {
		name, path, body   string
		wantPath, wantBody string
		wantErr            bool
	}{
		{"none", "/api/v1/groups", `{"name": "${g}"}`, "/api/v1/groups", `{"name": "${g}"}`, false},
		{"path segment before a query", "/api/v1/groups/$ref:g?dryRun=All", "", "/api/v1/groups/id-1?dryRun=All", "", false},
		{"whole segment", "/api/v1/groups/$ref:g", "", "/api/v1/groups/id-1", "", false},
		{"body values", "/api/v1/users", `{"groups": ["$ref:g", "x"], "n": 1.50, "c": "echo $ref:g"}`, "/api/v1/users",
			`{"c":"echo $ref:g","groups":["id-1","x"],"n":1.50}`, false},
		{"unknown name", "/api/v1/groups/$ref:nope", "", "", "", true},
		{"unknown name in the body", "/api/v1/users", `{"groups": ["$ref:nope"]}`, "", "", true},
		{"bad body left to the handler", "/api/v1/users", `{"groups": ["$ref:g"`, "/api/v1/users", `{"groups": ["$ref:g"`, false},
	}
	for _, tt := range tests {
		path, body, err := expandRefs(tt.path, json.RawMessage(tt.body), refs)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: expandRefs error = %v, want error %v", tt.name, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && (path != tt.wantPath || string(body) != tt.wantBody) {
			t.Errorf("%s: expandRefs(%q, %s) = %q, %s; want %q, %s", tt.name, tt.path, tt.body, path, body, tt.wantPath, tt.wantBody)
		}
	}
}

// FuzzExpandRefs: expanding never panics, and a body that was valid JSON stays valid JSON.
func FuzzExpandRefs(f *testing.F) {
	f.Add("/api/v1/groups/$ref:g", `{"user_ids": ["$ref:u"]}`)
	f.Add("/$ref:", `["$ref:", {"$ref:g": "$ref:g"}]`)
	f.Fuzz(func(t *testing.T, path, body string) {
		refs := map[string]string{"g": "id-1", "u": "id-2", "": "empty"}
		_, out, err := expandRefs(path, json.RawMessage(body), refs)
		if err == nil && json.Valid([]byte(body)) && !json.Valid(out) {
			t.Errorf("expandRefs(%q, %s) = invalid JSON %s", path, body, out)
		}
	})
}
