package workflow

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

func TestResolve(t *testing.T) {
	w := mustParse(t, `
parameters: {n: {default: 3}, who: {}, obj: {default: {a: [1, 2]}}}
steps:
- name: build
  image: x
- name: deploy
  task: deploy
  input:
    whole: ${outputs.build.meta}
    count: ${parameters.n + 1}
    text: "n=${parameters.n}, meta=${outputs.build.meta}, $${literal}"
    list: ["${parameters.who}", !Fn.concat [a, b]]
    merged: !Fn.merge [!Parameter obj, {b: true}]
    parsed: !Fn.jsonUnmarshal [!Output [build, json]]
    deep: !Fn.path [!Output [build, meta], tags.1]
    missing: !Fn.path [!Output [build, meta], nope, fallback]
    both: ${steps.build.succeeded && !steps.build.skipped}
- name: shell
  image: x
  dependsOn: build
  input: ['echo ${parameters.who} $HOME ${HOME} ${x:-y}']
  env:
    TOKEN: !Secret token
    WHO: hi ${parameters.who}
    META: ${outputs.build.meta}
  spec:
    auth: {password: !Secret password, user: !Parameter who}
`)
	p, err := Compile(w)
	if err != nil {
		t.Fatal(err)
	}
	vars := Vars{
		Parameters: map[string]any{"who": "ann"},
		Outputs: map[string]map[string]any{"build": {
			"meta": map[string]any{"tags": []any{"x", "y"}},
			"json": `{"k": 1.5}`,
		}},
		Steps:   map[string]api.StepStatus{"build": api.StepSucceeded},
		Secrets: map[string]string{"token": "t0k", "password": "pw"},
	}
	r, err := p.Resolve("deploy", vars)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(r.Input, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"whole":   map[string]any{"tags": []any{"x", "y"}},
		"count":   4.0,
		"text":    `n=3, meta={"tags":["x","y"]}, ${literal}`,
		"list":    []any{"ann", "ab"},
		"merged":  map[string]any{"a": []any{1.0, 2.0}, "b": true},
		"parsed":  map[string]any{"k": 1.5},
		"deep":    "y",
		"missing": "fallback",
		"both":    true,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Resolve(deploy).Input (-want +got):\n%s", d)
	}
	if r.Secrets != nil {
		t.Errorf("Resolve(deploy).Secrets = %v, want none", r.Secrets)
	}

	r, err = p.Resolve("shell", vars)
	if err != nil {
		t.Fatal(err)
	}
	if want := `["echo ann $HOME ${HOME} ${x:-y}"]`; string(r.Input) != want {
		t.Errorf("Resolve(shell).Input = %s, want %s", r.Input, want)
	}
	wantEnv := api.EnvVars{{Name: "META", Value: `{"tags":["x","y"]}`}, {Name: "TOKEN", Value: "t0k"}, {Name: "WHO", Value: "hi ann"}}
	if d := cmp.Diff(wantEnv, r.Env); d != "" {
		t.Errorf("Resolve(shell).Env (-want +got):\n%s", d)
	}
	if want := `{"auth":{"password":"pw","user":"ann"}}`; string(r.Spec) != want {
		t.Errorf("Resolve(shell).Spec = %s, want %s", r.Spec, want)
	}
	if want := []string{"password", "token"}; !slices.Equal(r.Secrets, want) || !slices.Equal(p.Secrets("shell"), want) {
		t.Errorf("Secrets = %v and %v, want %v", r.Secrets, p.Secrets("shell"), want)
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name, doc, step, want string
		vars                  Vars
	}{
		{"missing output", "steps:\n- {name: a, image: x}\n- {name: b, task: t, input: {v: !Output [a, nope]}}\n", "b",
			`steps[1] "b".input.v: expression "outputs.a.nope": no such key: nope`, Vars{}},
		{"missing secret", "steps:\n- {name: a, image: x, env: {S: !Secret s}}\n", "a",
			`steps[0] "a".env[0] S: expression "secrets.s" failed (it reads a secret: no details)`, Vars{}},
		{"secret never shown", "steps:\n- {name: a, image: x, env: {S: '${jsonUnmarshal(secrets.s)}'}}\n", "a",
			`steps[0] "a".env[0] S: expression "jsonUnmarshal(secrets.s)" failed (it reads a secret: no details)`,
			Vars{Secrets: map[string]string{"s": "hunter2"}}},
		{"type error", "steps:\n- {name: a, task: t, input: {v: '${parameters.x + 1}'}}\n", "a",
			`steps[0] "a".input.v: expression "parameters.x + 1": no such overload`,
			Vars{Parameters: map[string]any{"x": "s"}}},
		{"cost limit", "steps:\n- {name: a, task: t, input: {v: '${[1,2,3,4,5,6,7,8,9,10].map(a, [1,2,3,4,5,6,7,8,9,10].map(b, [1,2,3,4,5,6,7,8,9,10].map(c, [1,2,3,4,5,6,7,8,9,10].map(d, [1,2,3,4,5,6,7,8,9,10].map(e, [1,2,3,4,5,6,7,8,9,10].map(f, a+b+c+d+e+f))))))}'}}\n", "a",
			`steps[0] "a".input.v: expression "[1,2,3,4,5,6,7,8,9,10]`, Vars{}},
		{"unknown step", "steps:\n- {name: a, image: x}\n", "zz", `workflow w: no step "zz"`, Vars{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(mustParse(t, tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Resolve(tt.step, tt.vars)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Resolve(%s) = %v, want it to contain %q", tt.step, err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Resolve(%s) = %v: it shows the secret", tt.step, err)
			}
			if tt.name == "cost limit" && !strings.Contains(err.Error(), "too costly") {
				t.Errorf("Resolve(%s) = %v, want the cost limit", tt.step, err)
			}
		})
	}
}
