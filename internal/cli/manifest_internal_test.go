package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

func TestSplitYAML(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"one", "a: 1\n", []string{"a: 1\n"}},
		{"leading separator", "---\na: 1\n", []string{"", "a: 1\n"}},
		{"two", "a: 1\n---\nb: 2\n", []string{"a: 1\n", "b: 2\n"}},
		{"separator with trailing spaces", "a: 1\n---  \nb: 2", []string{"a: 1\n", "b: 2\n"}},
		{"not a separator", "a: ---\n--- # c\nb: '---'\n", []string{"a: ---\n--- # c\nb: '---'\n"}},
		{"CRLF", "a: 1\r\n---\r\nb: 2\r\n", []string{"a: 1\n", "b: 2\n"}},
	}
	for _, tt := range tests {
		var got []string
		for _, d := range splitYAML([]byte(tt.in)) {
			got = append(got, string(d))
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: splitYAML(%q) (-want +got):\n%s", tt.name, tt.in, diff)
		}
	}
}

func TestParseManifests(t *testing.T) {
	runner := api.Runner{Name: "r", GitURL: "https://example.com/r.git"}
	tests := []struct {
		name    string
		json    bool
		in      string
		want    []manifest
		wantErr string
	}{
		{name: "flat YAML", in: "kind: Runner\nname: r\ngitURL: https://example.com/r.git\n",
			want: []manifest{{source: "f (document 1)", kind: kindRunner, runner: runner}}},
		{name: "kubernetes form", in: "apiVersion: v1\nkind: Runner\nmetadata: {name: r}\nspec: {gitURL: 'https://example.com/r.git'}\n",
			want: []manifest{{source: "f (document 1)", kind: kindRunner, runner: runner}}},
		{name: "comments and empty documents skipped",
			in: "# header\n---\n---\nkind: Task\nname: t\nrunner: r\ncommand: ./x\ntimeout: 90\nsync_timeout: 1m\nschema: {type: object}\n---\n# end\n",
			want: []manifest{{source: "f (document 1)", kind: kindTask, task: api.Task{Name: "t", Runner: "r", Command: "./x",
				Timeout: api.Duration(90 * time.Second), SyncTimeout: api.Duration(time.Minute), Schema: json.RawMessage(`{"type":"object"}`)}}}},
		{name: "JSON stream and array", json: true,
			in: `{"kind":"Runner","name":"r","gitURL":"https://example.com/r.git"} [{"kind":"Task","name":"t","runner":"r","command":"x"}]`,
			want: []manifest{{source: "f (document 1)", kind: kindRunner, runner: runner},
				{source: "f (document 2)", kind: kindTask, task: api.Task{Name: "t", Runner: "r", Command: "x"}}}},
		{name: "duplicate key", in: "kind: Runner\nname: a\nname: b\n", wantErr: "apply f (document 1): invalid YAML"},
		{name: "name in metadata and spec", in: "kind: Task\nmetadata: {name: a}\nspec: {name: a}\n", wantErr: "name is given both"},
		{name: "fields beside spec", in: "kind: Task\nspec: {name: a}\nrunner: r\n", wantErr: "must hold its fields under spec"},
		{name: "wrong type", in: "kind: Task\nname: t\nrunner: r\ncommand: x\nsynchronous: sometimes\n", wantErr: "Task: cannot unmarshal"},
		{name: "scalar", in: "hello\n", wantErr: "a document must be a mapping"},
		{name: "kind not a string", in: "kind: [Runner]\n", wantErr: "kind is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseManifests(manifestSource{name: "f", data: []byte(tt.in), json: tt.json})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseManifests(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseManifests(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(manifest{})); diff != "" {
				t.Errorf("parseManifests(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func FuzzParseManifests(f *testing.F) {
	f.Add([]byte("kind: Runner\nname: r\ngitURL: https://example.com/r.git\n---\nkind: Task\nname: t\nrunner: r\ncommand: x\n"), false)
	f.Add([]byte("kind: Task\nmetadata: {name: t}\nspec: {runner: r, command: x, schema: {type: object}}\n"), false)
	f.Add([]byte(`[{"kind":"Runner","name":"r"}] {"kind":"Task"}`), true)
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		ms, err := parseManifests(manifestSource{name: "f", data: data, json: isJSON})
		if err != nil {
			return
		}
		for _, m := range ms {
			// Every document accepted is one the server could take: a known kind that validates.
			var verr error
			switch m.kind {
			case kindRunner:
				verr = m.runner.Validate()
			case kindTask:
				verr = m.task.Validate()
			default:
				t.Fatalf("accepted kind %q", m.kind)
			}
			if verr != nil {
				t.Fatalf("accepted an invalid %s: %v", m.kind, verr)
			}
		}
	})
}

func TestRunnerUnchanged(t *testing.T) {
	stored := api.Runner{Name: "r", GitURL: "https://x/r.git", Branch: "main", Token: api.Mask, Secret: map[string]string{"K": api.Mask}}
	tests := []struct {
		name string
		want api.Runner
		cur  api.Runner
		same bool
	}{
		{"identical, default branch", api.Runner{Name: "r", GitURL: "https://x/r.git"}, api.Runner{Name: "r", GitURL: "https://x/r.git", Branch: "main"}, true},
		{"image changed", api.Runner{Name: "r", GitURL: "https://x/r.git", Image: "a"}, api.Runner{Name: "r", GitURL: "https://x/r.git"}, false},
		{"plain token cannot be compared", api.Runner{Name: "r", GitURL: "https://x/r.git", Branch: "main", Token: "t", Secret: map[string]string{"K": api.Mask}}, stored, false},
		{"plain secret cannot be compared", api.Runner{Name: "r", GitURL: "https://x/r.git", Token: api.Mask, Secret: map[string]string{"K": "v"}}, stored, false},
		{"masks compare", api.Runner{Name: "r", GitURL: "https://x/r.git", Token: api.Mask, Secret: map[string]string{"K": api.Mask}}, stored, true},
		{"token to remove", api.Runner{Name: "r", GitURL: "https://x/r.git", Secret: map[string]string{"K": api.Mask}}, stored, false},
		{"secret to remove", api.Runner{Name: "r", GitURL: "https://x/r.git", Token: api.Mask}, stored, false},
		{"empty secret value is absent", api.Runner{Name: "r", GitURL: "https://x/r.git", Secret: map[string]string{"K": ""}}, api.Runner{Name: "r", GitURL: "https://x/r.git"}, true},
	}
	for _, tt := range tests {
		if got := runnerUnchanged(tt.want, tt.cur); got != tt.same {
			t.Errorf("%s: runnerUnchanged = %v, want %v", tt.name, got, tt.same)
		}
	}
}

func TestSameFields(t *testing.T) {
	tests := []struct {
		name string
		a, b api.Task
		same bool
	}{
		{"zero values are absent", api.Task{Name: "t", Schema: json.RawMessage(`null`)}, api.Task{Name: "t", Synchronous: false}, true},
		{"schema compared by value", api.Task{Name: "t", Schema: json.RawMessage(`{"a":1,"b":[1]}`)}, api.Task{Name: "t", Schema: json.RawMessage(`{ "b": [1], "a": 1 }`)}, true},
		{"nested zero values count", api.Task{Name: "t", Schema: json.RawMessage(`{"default":""}`)}, api.Task{Name: "t", Schema: json.RawMessage(`{}`)}, false},
		{"timeout", api.Task{Name: "t", Timeout: api.Duration(time.Minute)}, api.Task{Name: "t", Timeout: api.Duration(60 * time.Second)}, true},
		{"synchronous", api.Task{Name: "t", Synchronous: true}, api.Task{Name: "t"}, false},
	}
	for _, tt := range tests {
		if got := sameFields(tt.a, tt.b); got != tt.same {
			t.Errorf("%s: sameFields = %v, want %v", tt.name, got, tt.same)
		}
	}
}

func TestAgeAndCell(t *testing.T) {
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	ages := []struct {
		ago  time.Duration
		want string
	}{{-time.Second, "0s"}, {5 * time.Second, "5s"}, {119 * time.Second, "119s"}, {2 * time.Minute, "2m"},
		{3 * time.Hour, "3h"}, {47 * time.Hour, "47h"}, {72 * time.Hour, "3d"}}
	for _, tt := range ages {
		if got := age(now, now.Add(-tt.ago)); got != tt.want {
			t.Errorf("age(%v ago) = %q, want %q", tt.ago, got, tt.want)
		}
	}
	if got := age(now, time.Time{}); got != "-" {
		t.Errorf("age(zero) = %q, want -", got)
	}
	cells := []struct{ in, want string }{{"", "-"}, {"abc", "abc"}, {"abcdef", "abcd..."}, {"a\tb\nc", "a b..."}, {"ééééé", "éééé..."}}
	for _, tt := range cells {
		if got := cell(tt.in, 4); got != tt.want {
			t.Errorf("cell(%q, 4) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
