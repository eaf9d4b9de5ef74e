package events

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

func TestParseConfig(t *testing.T) {
	const task = "    tasks:\n      - name: t\n        image: alpine\n"
	const event = "    events:\n      - name: sh.keptn.event.test.triggered\n"
	tests := []struct {
		name    string
		yaml    string
		wantErr string // "" = valid
	}{
		{"minimal", "apiVersion: v2\nactions:\n  - name: a\n" + event + task, ""},
		{"no actions", "apiVersion: v2\n", ""},
		{"empty action list", "apiVersion: v2\nactions: []\n", ""},
		{"json form", `{"apiVersion":"v2","actions":[{"name":"a","events":[{"name":"x"}],"tasks":[{"name":"t","image":"i"}]}]}`, ""},
		{"missing apiVersion", "actions: []\n", "apiVersion must be specified"},
		{"apiVersion v1", "apiVersion: v1\n", "apiVersion v1 is not supported, use v2"},
		{"apiVersion number", "apiVersion: 2\n", "apiVersion 2 is not supported, use v2"},
		{"unknown top-level key", "apiVersion: v2\nkind: Job\n", "field kind not found"},
		{"unknown task key", "apiVersion: v2\nactions:\n  - name: a\n" + event + task + "        command: [sh]\n", "field command not found"},
		{"unknown jsonpath key", "apiVersion: v2\nactions:\n  - name: a\n    events:\n      - name: x\n        jsonpath: {property: $.data, equals: y}\n" + task, "field equals not found"},
		{"repeated key", "apiVersion: v2\napiVersion: v2\n", "already defined"},
		{"actions as a map", "apiVersion: v2\nactions: {}\n", "cannot unmarshal"},
		{"two documents", "apiVersion: v2\n---\napiVersion: v2\n", "one document expected"},
		{"empty", "", "empty document"},
		{"not yaml", "apiVersion: [v2\n", "config:"},
		{"bad regex", "apiVersion: v2\nactions:\n  - name: a\n    events:\n      - name: \"sh.keptn.(\"\n" + task, "actions[0].events[0].name: error parsing regexp"},
		{"bad jsonpath", "apiVersion: v2\nactions:\n  - name: a\n    events:\n      - name: x\n        jsonpath: {property: data.x, match: y}\n" + task, "actions[0].events[0].jsonpath.property"},
		{"no events", "apiVersion: v2\nactions:\n  - name: a\n" + task, "actions[0].events: at least one event is required"},
		{"no tasks", "apiVersion: v2\nactions:\n  - name: a\n" + event, "actions[0].tasks: at least one task is required"},
		{"no image nor cmd", "apiVersion: v2\nactions:\n  - name: a\n" + event + "    tasks:\n      - name: t\n", "actions[0].tasks[0]: needs an image, a cmd, or both"},
		{"relative workingDir", "apiVersion: v2\nactions:\n  - name: a\n" + event + task + "        workingDir: tmp\n", "workingDir: \"tmp\" is not an absolute path"},
		{"file outside", "apiVersion: v2\nactions:\n  - name: a\n" + event + task + "        files: [../etc/passwd]\n", "is not a path inside the repository"},
		{"unknown valueFrom", "apiVersion: v2\nactions:\n  - name: a\n" + event + task + "        env:\n          - {name: X, value: y, valueFrom: file}\n", `env[0].valueFrom: "file": want event, secret or string`},
		{"unknown as", "apiVersion: v2\nactions:\n  - name: a\n" + event + task + "        env:\n          - {name: X, value: $.data, valueFrom: event, as: toml}\n", `env[0].as: "toml"`},
		{"as is case-insensitive", "apiVersion: v2\nactions:\n  - name: a\n" + event + task + "        env:\n          - {name: X, value: $.data, valueFrom: event, as: JSON}\n", ""},
		{"event env without a path", "apiVersion: v2\nactions:\n  - name: a\n" + event + task + "        env:\n          - {name: X, value: data.x, valueFrom: event}\n", "env[0].value: jsonpath"},
		{"env names as Kubernetes takes them", "apiVersion: v2\nactions:\n  - name: a\n" + event + task + "        env:\n          - {name: E2E-jsonPathLabel, value: $.data.labels.x, valueFrom: event}\n          - {name: a.b, value: y, valueFrom: string}\n", ""},
		{"bad env name", "apiVersion: v2\nactions:\n  - name: a\n" + event + task + "        env:\n          - {name: 1X, value: y, valueFrom: string}\n", "env[0].name"},
		{"negative maxPollDuration", "apiVersion: v2\nactions:\n  - name: a\n" + event + task + "        maxPollDuration: -1\n", "maxPollDuration: -1 is negative"},
		{"string maxPollDuration", "apiVersion: v2\nactions:\n  - name: a\n" + event + task + "        maxPollDuration: soon\n", "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.yaml))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseConfig() = %v, want valid", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseConfig() = %v, want an error containing %q", err, tt.wantErr)
			}
			if !isInvalid(err) {
				t.Errorf("ParseConfig() error %T is not an *api.InvalidError (a 400)", err)
			}
		})
	}
}

func TestParseRules(t *testing.T) {
	const body = "name: deploy\nowner: someone\nmultiple: true\napiVersion: v2\nactions:\n  - name: a\n    events: [{name: x}]\n    tasks: [{name: t, image: i}]\n"
	tests := []struct {
		name    string
		doc     string
		json    bool
		wantErr string
	}{
		{"yaml", body, false, ""},
		{"with kind", "kind: EventRules\n" + body, false, ""},
		{"read back", body + "created_at: 2026-12-07T00:00:00Z\nupdated_at: 2026-12-07T00:00:00Z\n", false, ""},
		{"json", `{"name":"deploy","apiVersion":"v2","multiple":true,"actions":[{"name":"a","events":[{"name":"x"}],"tasks":[{"name":"t","image":"i"}]}]}`, true, ""},
		{"other kind", "kind: Workflow\n" + body, false, `kind "Workflow": want EventRules`},
		{"unknown key yaml", body + "priority: 1\n", false, "field priority not found"},
		{"unknown key json", `{"name":"d","apiVersion":"v2","priority":1}`, true, `unknown field "priority"`},
		{"json trailing", `{"name":"d","apiVersion":"v2"} {}`, true, "data after the JSON value"},
		{"no apiVersion", "name: d\nactions: []\n", false, "apiVersion must be specified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRules([]byte(tt.doc), tt.json)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseRules() = %v, want valid", err)
				}
				if r.Name != "deploy" || !r.Multiple || len(r.Actions) != 1 {
					t.Errorf("ParseRules() = %+v, want deploy with multiple and one action", r)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !isInvalid(err) {
				t.Fatalf("ParseRules() = %v, want a 400 containing %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	files, _ := filepath.Glob("testdata/configs/*.yaml")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("apiVersion: v2\nactions: {}\n"))
	f.Add([]byte(`{"apiVersion":"v2","actions":[{"events":[{"name":"(","jsonpath":{"property":"$[","match":""}}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseConfig(b)
		if err != nil {
			if !isInvalid(err) {
				t.Fatalf("ParseConfig error %T %v is not a 400", err, err)
			}
			return
		}
		// A config that parses builds a run for any event its actions match, or says why not.
		doc := Document(api.Event{ID: "1", Source: "s", Type: "sh.keptn.event.test.triggered"})
		r.Name = "fuzz"
		for _, i := range Match(r, "sh.keptn.event.test.triggered", doc) {
			_, _ = Build(r, i, api.Event{ID: "1", Source: "s"}, doc)
		}
	})
}

func isInvalid(err error) bool {
	var inv *api.InvalidError
	return errors.As(err, &inv)
}

func FuzzParseRules(f *testing.F) {
	f.Add([]byte("kind: EventRules\nname: d\napiVersion: v2\nmultiple: true\nactions: []\n"), false)
	f.Add([]byte(`{"name":"d","apiVersion":"v2","actions":[{"name":"a","events":[{"name":"x"}],"tasks":[{"name":"t","image":"i"}]}]}`), true)
	f.Add([]byte(`{"name":"d","apiVersion":"v2","created_at":"x"}`), true)
	f.Add([]byte(`{"name":"d","runner":"r","path":"job/config.yaml"}`), true)
	f.Add([]byte("name: d\nrunner: r\npath: /svc/job/config.yaml\n"), false)
	f.Add([]byte("name: d\nrunner: r\napiVersion: v2\nactions:\n- name: a\n  events: [{name: x}]\n  tasks:\n  - name: t\n    image: i\n    files: [locust/basic.py, /helm]\n    imagePullPolicy: Always\n    serviceAccount: sa\n    resources: {limits: {cpu: 1, memory: 512Mi}, requests: {cpu: 50m}}\n"), false)
	f.Fuzz(func(t *testing.T, b []byte, isJSON bool) {
		if _, err := ParseRules(b, isJSON); err != nil && !isInvalid(err) {
			t.Fatalf("ParseRules error %T %v is not a 400", err, err)
		}
	})
}

// A rule set names its actions or a path in its runner's repository; a Keptn task's files need the runner, and its
// resources, imagePullPolicy and serviceAccount are checked as runplane's tasks check theirs.
func TestParseRulesRunnerSettings(t *testing.T) {
	task := func(extra string) string {
		return "name: d\nrunner: r\napiVersion: v2\nactions:\n- name: a\n  events: [{name: x}]\n  tasks:\n  - name: t\n    image: i\n" + extra
	}
	tests := []struct {
		name, doc, want string // want "" : valid
	}{
		{"path", "name: d\nrunner: r\npath: job/config.yaml\n", ""},
		{"path from the root", "name: d\nrunner: r\npath: /basket/job/config.yaml\n", ""},
		{"path without runner", "name: d\npath: job/config.yaml\n", "name the runner"},
		{"path and actions", "name: d\nrunner: r\npath: job/config.yaml\napiVersion: v2\nactions: []\n", "give path or actions"},
		{"path outside", "name: d\nrunner: r\npath: a/../../b\n", "not a file path inside"},
		{"neither", "name: d\nrunner: r\n", "apiVersion must be specified"},
		{"files", task("    files: [locust/basic.py, /helm]\n"), ""},
		{"files without runner", strings.Replace(task("    files: [a]\n"), "runner: r\n", "", 1), "actions[0].tasks[0].files: files are read from the runner's repository"},
		{"file outside", task("    files: [../etc/passwd]\n"), "not a path inside"},
		{"resources", task("    resources: {limits: {cpu: 1, memory: 512Mi}, requests: {cpu: 50m, memory: 128Mi}}\n"), ""},
		{"bad quantity", task("    resources: {limits: {memory: lots}}\n"), "actions[0].tasks[0].resources.limits.memory"},
		{"requests over limits", task("    resources: {limits: {cpu: 50m}, requests: {cpu: 1}}\n"), "is more than limits.cpu"},
		{"pull policy", task("    imagePullPolicy: Sometimes\n"), "actions[0].tasks[0].imagePullPolicy"},
		{"service account", task("    serviceAccount: Not_A_Name\n"), "actions[0].tasks[0].serviceAccount"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRules([]byte(tc.doc), false)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("ParseRules = %v, want it valid", err)
			case tc.want != "" && (err == nil || !isInvalid(err) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("ParseRules = %v, want a 400 saying %q", err, tc.want)
			}
		})
	}
}
