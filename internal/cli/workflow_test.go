package cli_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

// The worked example's workflow, in runplane's manifest form and as a Relay file.
const (
	exampleWorkflow = "../../examples/workflow.yaml"
	exampleRelay    = "../../examples/relay/release-relay.yaml"
)

var runID = regexp.MustCompile(`^(release|release-relay|fails|sleepy)-[a-z0-9]{5}$`)

// oneRunID is the run id a command printed alone on stdout.
func oneRunID(t *testing.T, out string) string {
	t.Helper()
	id := strings.TrimSpace(out)
	if !runID.MatchString(id) {
		t.Fatalf("printed %q, want a run id", out)
	}
	return id
}

// flows applies the example workflows and two of the test's own: fails (its second step fails) and sleepy (one
// step that sleeps).
func (h *harness) flows() {
	h.t.Helper()
	dir := h.t.TempDir()
	write(h.t, dir, "own.yaml", `kind: Workflow
name: fails
steps:
  - {name: first, image: alpine, command: [sh, -c, "echo first done"]}
  - name: second
    dependsOn: first
    image: alpine
    input:
      - echo "second is about to fail"
      - exit 3
---
apiVersion: runplane.io/v1
kind: Workflow
metadata:
  name: sleepy
spec:
  steps:
    - {name: nap, image: alpine, command: [sh, -c, "sleep 120"]}
`)
	out := h.ok("", "apply", "-f", exampleWorkflow, "-f", exampleRelay, "-f", dir)
	for _, want := range []string{"workflow/release created", "workflow/release-relay created", "workflow/fails created", "workflow/sleepy created"} {
		if !strings.Contains(out, want) {
			h.t.Errorf("apply printed %q, want %q", out, want)
		}
	}
}

func TestWorkflowApply(t *testing.T) {
	h := newHarness(t, true)
	h.flows()

	if out := h.ok("", "apply", "-f", exampleWorkflow, "-f", exampleRelay); strings.Count(out, "unchanged") != 2 {
		t.Errorf("second apply printed %q, want both unchanged", out)
	}
	// get -o yaml prints a document apply takes back unchanged.
	doc := write(t, t.TempDir(), "release.yaml", h.ok("", "get", "workflow", "release", "-o", "yaml"))
	if out := h.ok("", "apply", "-f", doc); out != "workflow/release unchanged\n" {
		t.Errorf("apply of get -o yaml printed %q, want unchanged", out)
	}
	// A changed definition is configured, and a dry run stores nothing.
	changed := write(t, t.TempDir(), "changed.yaml", strings.Replace(readFile(t, exampleWorkflow), "name: release", "name: release-2", 1))
	if out := h.ok("", "apply", "--dry-run", "-f", changed); out != "workflow/release-2 created (dry run)\n" {
		t.Errorf("apply --dry-run printed %q", out)
	}
	h.fail("", "get", "workflow", "release-2")
	edited := strings.Replace(readFile(t, exampleWorkflow), "Build once", "Build it once", 1)
	if out := h.ok("", "apply", "-f", write(t, t.TempDir(), "edited.yaml", edited)); out != "workflow/release configured\n" {
		t.Errorf("apply of an edited workflow printed %q, want configured", out)
	}

	table := h.ok("", "get", "workflows")
	for _, want := range []string{"NAME", "release-relay", "sleepy", "Build it once"} {
		if !strings.Contains(table, want) {
			t.Errorf("get workflows printed %q, want %q", table, want)
		}
	}
	if names := h.ok("", "get", "workflows", "-o", "name"); names != "workflow/fails\nworkflow/release\nworkflow/release-relay\nworkflow/sleepy\n" {
		t.Errorf("get workflows -o name = %q", names)
	}
	w := unmarshal[api.Workflow](t, h.ok("", "get", "workflow", "release-relay", "-o", "json"))
	if len(w.Steps) != 5 || w.Steps[1].Env[0].Value != "${outputs.build.artifact}" {
		t.Errorf("release-relay = %+v, want Relay's !Output read as a template", w.Steps)
	}
	if exp := h.ok("", "export"); strings.Count(exp, "kind: Workflow\n") != 4 {
		t.Errorf("export holds %d workflows, want 4:\n%s", strings.Count(exp, "kind: Workflow\n"), exp)
	}

	if out := h.ok("", "delete", "-f", exampleRelay); out != "workflow/release-relay deleted\n" {
		t.Errorf("delete -f printed %q", out)
	}
	if out := h.ok("", "delete", "workflow", "sleepy"); out != "workflow/sleepy deleted\n" {
		t.Errorf("delete workflow printed %q", out)
	}
}

func TestWorkflowApplyErrors(t *testing.T) {
	h := newHarness(t, true)
	dir := t.TempDir()
	tests := []struct {
		name, file, doc, stdin, want string
	}{
		{name: "cycle", file: "cycle.yaml", doc: "kind: Workflow\nname: c\nsteps:\n  - {name: a, task: t, dependsOn: b}\n  - {name: b, task: t, dependsOn: a}\n",
			want: "cycle"},
		{name: "unknown step field", file: "field.yaml", doc: "kind: Workflow\nname: f\nsteps:\n  - name: a\n    task: t\n    retry: 2\n",
			want: `line 6: steps[0] "a".retry: unknown field "retry"`},
		{name: "bad expression", file: "expr.yaml", doc: "kind: Workflow\nname: e\nsteps:\n  - {name: a, task: t, when: '${parameters.}'}\n",
			want: "when"},
		{name: "name under spec", file: "spec.yaml", doc: "kind: Workflow\nmetadata: {name: s}\nspec:\n  name: s\n  steps: []\n",
			want: "the name goes in metadata.name"},
		{name: "relay file on stdin", stdin: "version: v1\nsteps:\n  - {name: a, input: [echo hi]}\n",
			want: "no name"},
		{name: "relay file named badly", file: "Not_A_Name.yaml", doc: "version: v1\nsteps:\n  - {name: a, input: [echo hi]}\n",
			want: "no name"},
		{name: "relay version", file: "v2.yaml", doc: "version: v2\nsteps:\n  - {name: a, input: [echo hi]}\n",
			want: "version v2 is not supported"},
		{name: "unknown task, checked by the server", file: "ghost.yaml", doc: "kind: Workflow\nname: g\nsteps:\n  - {name: a, task: ghost}\n",
			want: `workflow/g: refused by the server (nothing was changed): steps[0] "a".task: unknown task "ghost"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			args := []string{"apply", "-f", "-"}
			if tt.file != "" {
				args[2] = write(t, dir, tt.file, tt.doc)
			}
			if got := h.fail(tt.stdin, args...); !strings.Contains(got, tt.want) {
				t.Errorf("apply %s: stderr %q, want %q", tt.name, got, tt.want)
			}
		})
	}
	if out := h.ok("", "get", "workflows", "-o", "name"); out != "" {
		t.Errorf("failed applies stored workflows: %q", out)
	}
}

func TestRunWorkflow(t *testing.T) {
	h := newHarness(t, true)
	h.flows()

	t.Run("wait", func(t *testing.T) {
		h := h.with(t)
		r := h.run("", "run", "workflow", "release", "--wait")
		if r.code != 0 || !regexp.MustCompile(`^run release-[a-z0-9]{5} succeeded\n$`).MatchString(r.stderr) {
			t.Fatalf("run workflow --wait: exit %d, stderr %q", r.code, r.stderr)
		}
		for _, want := range []string{"├── build ", `outputs: artifact="app-1.0.0.tar" size=42`, "passed=17",
			`package="app-1.0.0.tar.gz" tests=17`, "└── publish      skipped", "message: when[0] is false: ${parameters.publish}"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("run workflow --wait printed\n%s\nwant %q", r.stdout, want)
			}
		}
	})
	t.Run("relay form, publishing, as json", func(t *testing.T) {
		h := h.with(t)
		run := unmarshal[api.Run](t, h.ok("", "run", "workflow", "release-relay", "-i", `{"publish": true, "version": "2.0"}`, "--wait=1m", "-o", "json"))
		if run.Status != api.RunSucceeded || len(run.Steps) != 5 || run.Steps[4].Status != api.StepSucceeded {
			t.Fatalf("run = %+v, want succeeded with publish run", run)
		}
		if got := string(run.Steps[3].Outputs["package"]); got != `"app-2.0.tar.gz"` {
			t.Errorf("package's output = %s, want app-2.0.tar.gz", got)
		}
	})

	t.Run("async, wait, logs", func(t *testing.T) {
		h := h.with(t)
		id := oneRunID(t, h.ok("", "run", "workflow", "release", "--async"))
		if out := h.ok("", "wait", "run", id); out != "run "+id+" succeeded\n" {
			t.Errorf("wait run printed %q", out)
		}
		logs := h.ok("", "logs", "run", id)
		checkOrder(t, logs, "==> step build (job build-", ", succeeded) <==", "building app 1.0.0", "==> step unit (job unit-",
			"==> step integration (job", "==> step package (job", "packaging app-1.0.0.tar (17 integration tests passed)",
			"==> step publish: skipped: when[0] is false")
		one := h.ok("", "logs", "run", id, "--step", "unit")
		if !strings.HasPrefix(one, "==> step unit (job unit-") || strings.Contains(one, "building") {
			t.Errorf("logs run --step unit printed %q, want unit's log alone", one)
		}
		tree := h.ok("", "get", "run", id)
		if !strings.HasPrefix(tree, "run "+id+"  workflow release  succeeded") {
			t.Errorf("get run printed %q", tree)
		}
		if got := unmarshal[api.Run](t, h.ok("", "get", "run", id, "-o", "json")); got.ID != id || len(got.Steps) != 5 {
			t.Errorf("get run -o json = %+v", got)
		}
	})

	t.Run("logs -f follows the run to its end", func(t *testing.T) {
		h := h.with(t)
		id := oneRunID(t, h.ok("", "run", "workflow", "release", "--async"))
		logs := h.ok("", "logs", "run", "-f", id)
		checkOrder(t, logs, "==> step build (job build-", "building app", "==> step package (job", "packaging", "==> step publish: skipped")
	})

	t.Run("failed run", func(t *testing.T) {
		h := h.with(t)
		r := h.run("", "run", "workflow", "fails", "--wait")
		if r.code != 1 || !strings.Contains(r.stderr, "step second failed (job second-") || !strings.Contains(r.stderr, "second is about to fail") {
			t.Fatalf("run workflow fails: exit %d, stderr %q; want 1, naming the step and the end of its log", r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "└── second  failed") {
			t.Errorf("tree %q, want second failed", r.stdout)
		}
		id := strings.Fields(r.stderr)[1]
		r = h.run("", "rerun", "run", id, "--from-failed", "--wait")
		if r.code != 1 || !strings.Contains(r.stderr, " failed") {
			t.Errorf("rerun run --from-failed: exit %d, stderr %q; want the rerun failed again", r.code, r.stderr)
		}
		r = h.run("", "logs", "run", "-f", id)
		if r.code != 1 || !strings.Contains(r.stdout, "--- job second-") {
			t.Errorf("logs run -f of a failed run: exit %d, stdout %q", r.code, r.stdout)
		}
		if r := h.run("", "wait", "run", id); r.code != 1 {
			t.Errorf("wait run of a failed run: exit %d, want 1", r.code)
		}
		names := h.ok("", "get", "runs", "--workflow", "fails", "--status", "failed", "-o", "name")
		if strings.Count(names, "run/fails-") != 2 {
			t.Errorf("get runs --workflow fails --status failed -o name = %q, want the two runs", names)
		}
		if table := h.ok("", "get", "runs", "--workflow", "fails", "--limit", "1"); !strings.Contains(table, "1/2") {
			t.Errorf("get runs printed %q, want 1 of 2 steps succeeded", table)
		}
	})

	t.Run("still running, then cancelled", func(t *testing.T) {
		h := h.with(t)
		r := h.run("", "run", "workflow", "sleepy", "--wait=1s")
		if r.code != 3 || !strings.Contains(r.stderr, "is still") {
			t.Fatalf("run workflow sleepy --wait=1s: exit %d, stderr %q; want 3", r.code, r.stderr)
		}
		id := oneRunID(t, r.stdout)
		if r := h.run("", "wait", "run", id, "--timeout", "1s"); r.code != 3 {
			t.Errorf("wait run --timeout 1s: exit %d, want 3", r.code)
		}
		if out := h.ok("", "cancel", "run", id); !strings.HasPrefix(out, "run/"+id+" ") {
			t.Errorf("cancel run printed %q", out)
		}
		if r := h.run("", "wait", "run", id); r.code != 1 || !strings.Contains(r.stdout, "cancelled") {
			t.Errorf("wait run of a cancelled run: exit %d, stdout %q; want 1, cancelled", r.code, r.stdout)
		}
		if got := h.fail("", "cancel", "run", id); !strings.Contains(got, "already finished") {
			t.Errorf("cancel run of an ended run: %q", got)
		}
	})
}

func TestRunWorkflowErrors(t *testing.T) {
	h := newHarness(t, true)
	h.ok("", "apply", "-f", exampleWorkflow)
	id := oneRunID(t, h.ok("", "run", "workflow", "release", "--async"))
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown workflow", []string{"run", "workflow", "ghost", "--wait"}, 4, `workflow "ghost" not found`},
		{"async and wait", []string{"run", "workflow", "release", "--async", "--wait=1s"}, 1, "--async and --wait: give one"},
		{"input not JSON", []string{"run", "workflow", "release", "-i", "{bad"}, 1, "--input is not valid JSON"},
		{"parameters failing the schema", []string{"run", "workflow", "release", "-i", `{"version": 3}`}, 1, "version"},
		{"no name", []string{"run", "workflow"}, 1, "accepts 1 arg(s)"},
		{"unknown run", []string{"get", "run", "release-zzzzz"}, 1, "run release-zzzzz not found"},
		{"logs of an unknown run", []string{"logs", "run", "release-zzzzz"}, 4, "not found"},
		{"logs of an unknown step", []string{"logs", "run", id, "--step", "nope"}, 1, `--step "nope": run ` + id + " has no such step"},
		{"wait for an unknown run", []string{"wait", "run", "release-zzzzz"}, 4, "not found"},
		{"job filter on runs", []string{"get", "runs", "--task", "x"}, 1, "--task does not apply to runs"},
		{"run filter on jobs", []string{"get", "jobs", "--workflow", "x"}, 1, "--workflow does not apply to jobs"},
		{"filter with a name", []string{"get", "run", id, "--status", "failed"}, 1, "--status filters a list: give no name"},
		{"bad status", []string{"get", "runs", "--status", "done"}, 1, `unknown status "done"`},
		{"rerun of an unknown run", []string{"rerun", "run", "release-zzzzz"}, 4, "not found"},
		{"delete an unknown workflow", []string{"delete", "workflow", "ghost"}, 1, `workflow "ghost" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.with(t).run("", tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("runplane %s: exit %d, stderr %q; want %d and %q", strings.Join(tt.args, " "), r.code, r.stderr, tt.code, tt.want)
			}
		})
	}
}

// checkOrder fails unless every one of parts appears in s, each after the one before.
func checkOrder(t *testing.T, s string, parts ...string) {
	t.Helper()
	rest := s
	for _, p := range parts {
		i := strings.Index(rest, p)
		if i < 0 {
			t.Fatalf("%q is missing, or out of order, in:\n%s", p, s)
		}
		rest = rest[i+len(p):]
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
