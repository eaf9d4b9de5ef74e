package cli_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/runplane/runplane/api"
)

// table splits tabular output into rows of fields.
func table(s string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		rows = append(rows, strings.Fields(line))
	}
	return rows
}

func TestGet(t *testing.T) {
	h := newHarness(t, true)
	h.ok("", "apply", "-f", h.manifests())
	job := unmarshal[api.Job](t, h.ok("", "run", "hello", "-o", "json"))

	tests := []struct {
		name string
		args []string
		want [][]string
	}{
		{"runners", []string{"get", "runners"}, [][]string{
			{"NAME", "IMAGE", "GITURL", "BRANCH"}, {"scripts", "alpine:3", h.gitURL, "main"}}},
		{"one runner", []string{"get", "runner", "scripts"}, [][]string{
			{"NAME", "IMAGE", "GITURL", "BRANCH"}, {"scripts", "alpine:3", h.gitURL, "main"}}},
		{"tasks", []string{"get", "tasks"}, [][]string{
			{"NAME", "RUNNER", "SYNC", "COMMAND"},
			{"fail", "scripts", "true", "./fail.sh"},
			{"greet", "scripts", "true", "./hello.sh"},
			{"hello", "scripts", "true", "./hello.sh"},
			{"slow", "scripts", "false", "./slow.sh"}}},
		{"one task", []string{"get", "task", "slow"}, [][]string{
			{"NAME", "RUNNER", "SYNC", "COMMAND"}, {"slow", "scripts", "false", "./slow.sh"}}},
		{"jobs", []string{"get", "jobs"}, [][]string{
			{"ID", "TASK", "STATUS", "OWNER", "EXIT", "AGE"}, {job.ID, "hello", "succeeded", "root", "0", "AGE"}}},
		{"one job", []string{"get", "job", job.ID}, [][]string{
			{"ID", "TASK", "STATUS", "OWNER", "EXIT", "AGE"}, {job.ID, "hello", "succeeded", "root", "0", "AGE"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			got := table(h.ok("", tt.args...))
			if len(got) > 1 && len(got[1]) == 6 && strings.HasSuffix(got[1][5], "s") {
				got[1][5] = "AGE" // seconds old; the exact count does not matter
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%v (-want +got):\n%s", tt.args, diff)
			}
		})
	}

	t.Run("json and yaml", func(t *testing.T) {
		h := h.with(t)
		runners := unmarshal[[]api.Runner](t, h.ok("", "get", "runners", "-o", "json"))
		want := []api.Runner{{Name: "scripts", Image: "alpine:3", GitURL: h.gitURL, Branch: "main"}}
		if diff := cmp.Diff(want, runners); diff != "" {
			t.Errorf("get runners -o json (-want +got):\n%s", diff)
		}
		// YAML is documents that apply takes back: kind first, a stream for a list.
		if got, want := h.ok("", "get", "runners", "-o", "yaml"), "kind: Runner\nbranch: main\ngitURL: "+h.gitURL+"\nimage: alpine:3\nname: scripts\n"; got != want {
			t.Errorf("get runners -o yaml = %q, want %q", got, want)
		}
		var task api.Task
		if err := yaml.Unmarshal([]byte(h.ok("", "get", "task", "greet", "-o", "yaml")), &task); err != nil {
			t.Fatal(err)
		}
		if task.Name != "greet" || !strings.Contains(string(task.Schema), `"required":["name"]`) {
			t.Errorf("get task greet -o yaml = %+v (schema %s)", task, task.Schema)
		}
		jobs := unmarshal[[]api.Job](t, h.ok("", "get", "jobs", "-o", "json", "--limit", "1"))
		if len(jobs) != 1 || jobs[0].ID != job.ID || jobs[0].Status != api.JobSucceeded {
			t.Errorf("get jobs -o json --limit 1 = %+v", jobs)
		}
		one := unmarshal[api.Job](t, h.ok("", "get", "job", job.ID, "-o", "json"))
		jsonEqual(t, "json_data", one.JSONData, `{"greeting":"hello","input":null}`)
	})

	errs := []struct {
		name string
		args []string
		want string
	}{
		{"unknown type", []string{"get", "widgets"}, "Error: unknown resource type \"widgets\": want runners, tasks, workflows, runs, cronjobs, jobs, users, groups, roles, rolebindings, tokens, webhooks, auditlogs, destinations, state_stores, promises or resources\nRun 'runplane get --help' for usage.\n"},
		{"unknown format", []string{"get", "runners", "-o", "xml"}, "Error: unknown output format \"xml\": want table, wide, name, json, yaml or jsonpath=TEMPLATE\nRun 'runplane get --help' for usage.\n"},
		{"missing runner", []string{"get", "runner", "nope"}, "Error: runner \"nope\" not found (404)\n"},
		{"missing task", []string{"get", "task", "nope"}, "Error: task \"nope\" not found (404)\n"},
		{"missing job", []string{"get", "job", "hello-zzzzz"}, "Error: job \"hello-zzzzz\" not found (404)\n"},
		{"bad flag", []string{"get", "runners", "--nope"}, "Error: unknown flag: --nope\nRun 'runplane get --help' for usage.\n"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			if got := h.fail("", tt.args...); got != tt.want {
				t.Errorf("%v: stderr %q, want %q", tt.args, got, tt.want)
			}
		})
	}
}

// TestGetFormats: -o wide adds columns, -o name prints kind/name, -o jsonpath runs a kubectl-style template.
func TestGetFormats(t *testing.T) {
	h := newHarness(t, true)
	h.ok("", "apply", "-f", h.manifests())
	job := unmarshal[api.Job](t, h.run("", "run", "fail", "-o", "json").stdout)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"name of a list", []string{"get", "tasks", "-o", "name"}, "task/fail\ntask/greet\ntask/hello\ntask/slow\n"},
		{"name of one", []string{"get", "runner", "scripts", "-o", "name"}, "runner/scripts\n"},
		{"name of a job", []string{"get", "job", job.ID, "-o", "name"}, "job/" + job.ID + "\n"},
		{"name of users", []string{"get", "users", "-o", "name"}, "user/root\n"},
		{"jsonpath of a list", []string{"get", "tasks", "-o", "jsonpath={.items[*].name}"}, "fail greet hello slow\n"},
		{"jsonpath of one", []string{"get", "job", job.ID, "-o", "jsonpath={.status} {.exit_code}"}, "failed 3\n"},
		{"jsonpath without braces", []string{"get", "runner", "scripts", "-o", "jsonpath=.image"}, "alpine:3\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.with(t).ok("", tt.args...); got != tt.want {
				t.Errorf("runplane %s = %q, want %q", strings.Join(tt.args, " "), got, tt.want)
			}
		})
	}
	wide := table(h.ok("", "get", "job", job.ID, "-o", "wide"))
	if want := []string{"ID", "TASK", "STATUS", "OWNER", "EXIT", "AGE", "DURATION", "REASON"}; !cmp.Equal(wide[0], want) {
		t.Errorf("get job -o wide header = %v, want %v", wide[0], want)
	}
	if r := wide[1]; len(r) != 10 || !strings.HasSuffix(r[6], "s") || strings.Join(r[7:], " ") != "exit code 3" {
		t.Errorf("get job -o wide row = %v, want a duration and the reason", r)
	}
	if got := h.fail("", "get", "tasks", "-o", "jsonpath={.items[}"); !strings.Contains(got, "-o jsonpath:") {
		t.Errorf("a bad jsonpath: stderr %q", got)
	}
}
