package workflow

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

// mustParse parses a workflow written for a test, naming it "w" when it has no name.
func mustParse(t testing.TB, doc string) api.Workflow {
	t.Helper()
	w, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse(%q): %v", doc, err)
	}
	if w.Name == "" {
		w.Name = "w"
	}
	return w
}

// refs is a fixed set of tasks and runners.
type refs struct {
	tasks, runners []string
	err            error
}

func (r refs) TaskExists(n string) (bool, error)   { return slices.Contains(r.tasks, n), r.err }
func (r refs) RunnerExists(n string) (bool, error) { return slices.Contains(r.runners, n), r.err }

func TestValidateErrors(t *testing.T) {
	const params = "parameters: {env: {default: dev}, region: {}}\n"
	tests := []struct {
		name, doc, want string
	}{
		{"no steps", "steps: []\n", "steps: a workflow needs at least one step"},
		{"task step with files", "steps:\n- {name: a, task: t, files: {f: eA==}}\n", `steps[0] "a".files: a task step runs its task: it has no files`},
		{"task step with resources", "steps:\n- {name: a, task: t, resources: {limits: {cpu: 1}}}\n", `steps[0] "a".resources: a task step runs its task`},
		{"bad step resources", "steps:\n- {name: a, image: x, resources: {limits: {memory: lots}}}\n", `steps[0] "a".resources.limits.memory`},
		{"bad step pull policy", "steps:\n- {name: a, image: x, kubernetes: {imagePullPolicy: Sometimes}}\n", `steps[0] "a".kubernetes.imagePullPolicy`},
		{"bad step name", "steps:\n- {name: Build, image: x}\n", `steps[0].name: name "Build"`},
		{"duplicate name", "steps:\n- {name: a, image: x}\n- {name: a, image: y}\n", `steps[1].name: "a" is used by steps[0] too`},
		{"unknown dependency", "steps:\n- {name: build, image: x}\n- {name: deploy, image: x, dependsOn: [buidl]}\n",
			`steps[1] "deploy".dependsOn[0]: unknown step "buidl"`},
		{"self dependency", "steps:\n- {name: a, image: x, dependsOn: a}\n", `steps[0] "a".dependsOn[0]: a step cannot depend on itself`},
		{"listed twice", "steps:\n- {name: a, image: x}\n- {name: b, image: x, dependsOn: [a, a]}\n", `dependsOn[1]: "a" is listed twice`},
		{"cycle", "steps:\n- {name: a, image: x, dependsOn: c}\n- {name: b, image: x, dependsOn: a}\n- {name: c, image: x, dependsOn: b}\n",
			`steps[0] "a".dependsOn: cycle: a → c → b → a`},
		{"implicit cycle", "steps:\n- {name: a, image: x, env: {X: !Output [b, y]}}\n- {name: b, image: x, dependsOn: a}\n",
			`steps[0] "a".env[0] X: cycle: a → b → a`},
		{"own output", "steps:\n- {name: a, image: x, spec: {v: !Output [a, y]}}\n", `steps[0] "a".spec.v: a step cannot read its own outputs`},
		{"unknown output step", "steps:\n- {name: a, image: x, spec: {v: !Output [b, y]}}\n", `steps[0] "a".spec.v: unknown step "b" in outputs`},
		{"dynamic output", "steps:\n- {name: a, image: x}\n- {name: b, image: x, spec: {v: '${outputs[parameters.s].y}'}}\n",
			`outputs must be used as outputs.<step>.<name> with literal names`},
		{"bad status field", "steps:\n- {name: a, image: x}\n- {name: b, image: x, when: steps.a.done}\n",
			`steps[1] "b".when[0]: steps.a.done: a step's status is one of succeeded, failed, skipped`},
		{"does not compile", "steps:\n- {name: a, image: x, when: 'parameters.x ==='}\n", `steps[0] "a".when[0]: expression "parameters.x ===" does not compile`},
		{"when not boolean", "steps:\n- {name: a, image: x, when: '1 + 2'}\n", `steps[0] "a".when[0]: expression "1 + 2" is not a boolean`},
		{"when two expressions", "steps:\n- {name: a, image: x, when: '${true} and ${false}'}\n", `must be one expression`},
		{"unknown variable", "steps:\n- {name: a, task: t, input: {x: '${params.x}'}}\n", `steps[0] "a".input.x: expression "params.x" does not compile`},
		{"unknown parameter", params + "steps:\n- {name: a, task: t, input: {x: !Parameter envv}}\n",
			`steps[0] "a".input.x: unknown parameter "envv": the parameters schema has "env", "region"`},
		{"secret in when", "steps:\n- {name: a, image: x, when: '${secrets.x == \"y\"}'}\n", `steps[0] "a".when[0]: secrets may be used only in a step's env and spec`},
		{"secret in input", "steps:\n- {name: a, task: t, input: {x: !Secret s}}\n", `steps[0] "a".input.x: secrets may be used only`},
		{"unterminated template", "steps:\n- {name: a, image: x, env: {A: '${parameters.x'}}\n", `"${" without its closing "}"`},
		{"task and image", "steps:\n- {name: a, task: t, image: x}\n", `steps[0] "a".image: a task step runs its task: it has no image`},
		{"task and runner", "steps:\n- {name: a, task: t, runner: r}\n", `a task step runs with its task's runner`},
		{"containers and command", "steps:\n- {name: a, command: [x], containers: [{name: c, image: i}]}\n", `steps[0] "a".containers: a step with containers has no image`},
		{"bad container", "steps:\n- {name: a, containers: [{name: c}]}\n", `steps[0] "a".containers[0]: needs an image, a command, or both`},
		{"neither", `{"name": "w", "steps": [{"name": "a"}]}`, ""},
		{"script not lines", "steps:\n- {name: a, image: x, input: {a: 1}}\n", `steps[0] "a".input: an inline step's input is its script: a list of lines`},
		{"script and command", "steps:\n- {name: a, image: x, command: sh, input: [echo]}\n", `not both`},
		{"negative retries", "steps:\n- {name: a, image: x, retries: -1}\n", `steps[0] "a".retries: -1 is out of range: 0 to 10`},
		{"too many retries", "steps:\n- {name: a, image: x, retries: 11}\n", `retries: 11 is out of range`},
		{"negative timeout", "steps:\n- {name: a, image: x, timeout: -5s}\n", `steps[0] "a".timeout: -5s is out of range`},
		{"run timeout", "timeout: 9999h\nsteps:\n- {name: a, image: x}\n", `timeout: 9999h0m0s is out of range`},
		{"spec not object", "steps:\n- {name: a, image: x, spec: [1]}\n", `steps[0] "a".spec: must be an object`},
		{"bad env name", "steps:\n- {name: a, image: x, env: {1X: y}}\n", `steps[0] "a".env[0]`},
		{"bad parameters schema", "parameters: {type: 12}\nsteps:\n- {name: a, image: x}\n", `parameters: schema is not a valid JSON Schema`},
		{"cost", "steps:\n- {name: a, image: x, when: '" + strings.Repeat("true && ", 600) + "true'}\n", `expression longer than 4096 characters`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w api.Workflow
			if strings.HasPrefix(tt.doc, "{") {
				if err := jsonUnmarshal(tt.doc, &w); err != nil {
					t.Fatal(err)
				}
				tt.want = `steps[0] "a": a step needs a task, an image or containers`
			} else {
				w = mustParse(t, tt.doc)
			}
			err := Validate(w, nil)
			var ie *api.InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("Validate(%s) = %v, want an *api.InvalidError", tt.doc, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate(%s) =\n  %q\nwant it to contain\n  %q", tt.doc, err, tt.want)
			}
		})
	}
}

func TestValidateRefs(t *testing.T) {
	w := mustParse(t, "steps:\n- {name: a, task: build}\n- {name: b, image: x, runner: repo}\n")
	tests := []struct {
		name    string
		refs    Refs
		want    string
		invalid bool
	}{
		{"all there", refs{tasks: []string{"build"}, runners: []string{"repo"}}, "", false},
		{"no lookups", nil, "", false},
		{"unknown task", refs{runners: []string{"repo"}}, `steps[0] "a".task: unknown task "build"`, true},
		{"unknown runner", refs{tasks: []string{"build"}}, `steps[1] "b".runner: unknown runner "repo"`, true},
		{"store fails", refs{err: errors.New("disk on fire")}, `steps[0] "a".task: look up "build": disk on fire`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(w, tt.refs)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Validate = %v, want %s", err, tt.want)
			}
			var ie *api.InvalidError
			if errors.As(err, &ie) != tt.invalid {
				t.Errorf("Validate = %T, want *api.InvalidError: %v", err, tt.invalid)
			}
		})
	}
}

// TestImplicitOrder checks that references to other steps order them as dependsOn does.
func TestImplicitOrder(t *testing.T) {
	w := mustParse(t, `steps:
- {name: a, image: x}
- {name: b, image: x, spec: {v: !Output [a, y]}}
- {name: c, image: x, when: '${steps.b.failed}', dependsOn: a}
- {name: d, image: x, input: ['echo ${outputs["c"].z} ${HOME:-/}']}
`)
	p, err := Compile(w)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"a": nil, "b": {"a"}, "c": {"a", "b"}, "d": {"c"}}
	for step, deps := range want {
		if got := p.Dependencies(step); !slices.Equal(got, deps) {
			t.Errorf("Dependencies(%s) = %v, want %v", step, got, deps)
		}
	}
}

func FuzzValidate(f *testing.F) {
	f.Add("steps:\n- {name: a, image: x, when: 'steps.b.failed'}\n- {name: b, image: x, spec: {v: !Output [a, y]}}\n")
	f.Add("parameters: {p: {}}\nsteps:\n- {name: a, task: t, input: {x: '${parameters.p + \"x\"}'}}\n")
	f.Add("steps:\n- {name: a, containers: [{name: c, image: i}], env: {S: !Secret s}}\n")
	f.Add("steps:\n- {name: a, image: x, dependsOn: b}\n- {name: b, image: x, dependsOn: a}\n")
	f.Fuzz(func(t *testing.T, doc string) {
		w, err := Parse([]byte(doc))
		if err != nil {
			return
		}
		if w.Name == "" {
			w.Name = "w"
		}
		err = Validate(w, refs{tasks: []string{"t"}})
		if err != nil {
			var ie *api.InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("Validate = %v (%T), want an *api.InvalidError", err, err)
			}
			return
		}
		p, err := Compile(w)
		if err != nil {
			t.Fatalf("Validate passed but Compile = %v", err)
		}
		d := p.Next(State{})
		if len(d.Submit)+len(d.Skip)+len(d.Fail) == 0 {
			t.Fatalf("Next on a new run of a valid workflow decides nothing: %+v", d)
		}
	})
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
