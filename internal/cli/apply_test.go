package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

func TestApply(t *testing.T) {
	h := newHarness(t, true)
	dir := h.manifests()

	steps := []struct {
		name string
		edit func()
		want string
	}{
		{"first apply creates, runners first", nil,
			"runner/scripts created\ntask/hello created\ntask/greet created\ntask/slow created\ntask/fail created\n"},
		{"second apply changes nothing", nil,
			"runner/scripts unchanged\ntask/hello unchanged\ntask/greet unchanged\ntask/slow unchanged\ntask/fail unchanged\n"},
		{"changed documents are configured", func() {
			write(t, dir, "b-runner.yml", "kind: Runner\nname: scripts\nimage: alpine:4\ngitURL: "+h.gitURL+"\nbranch: main\n")
			write(t, dir, "c-fail.json", `[{"kind": "Task", "name": "fail", "runner": "scripts", "command": "./fail.sh"}]`)
		}, "runner/scripts configured\ntask/hello unchanged\ntask/greet unchanged\ntask/slow unchanged\ntask/fail configured\n"},
		{"and then unchanged again", nil,
			"runner/scripts unchanged\ntask/hello unchanged\ntask/greet unchanged\ntask/slow unchanged\ntask/fail unchanged\n"},
	}
	for _, s := range steps {
		if s.edit != nil {
			s.edit()
		}
		if got := h.ok("", "apply", "-f", dir); got != s.want {
			t.Errorf("%s: apply printed\n%s\nwant\n%s", s.name, got, s.want)
		}
	}
	task := unmarshal[api.Task](t, h.ok("", "get", "task", "fail", "-o", "json"))
	if task.Synchronous {
		t.Errorf("task fail after re-apply: synchronous = true, want false")
	}
	runner := unmarshal[api.Runner](t, h.ok("", "get", "runner", "scripts", "-o", "json"))
	if runner.Image != "alpine:4" {
		t.Errorf("runner image after re-apply = %q, want alpine:4", runner.Image)
	}
}

func TestApplySecretsAndKubernetesForm(t *testing.T) {
	h := newHarness(t, true)
	doc := "apiVersion: runplane.io/v1\nkind: Runner\nmetadata:\n  name: private\nspec:\n  gitURL: " + h.gitURL +
		"\n  token: tok\n  secret:\n    API_KEY: k1\n"
	if got, want := h.ok(doc, "apply", "-f", "-"), "runner/private created\n"; got != want {
		t.Errorf("apply from stdin printed %q, want %q", got, want)
	}
	// Secret values cannot be compared with the masked view, so the document is sent again.
	if got, want := h.ok(doc, "apply", "-f", "-"), "runner/private configured\n"; got != want {
		t.Errorf("re-apply with secrets printed %q, want %q", got, want)
	}
	// The mask itself keeps the stored values and compares equal.
	masked := strings.NewReplacer("token: tok", "token: '"+api.Mask+"'", "API_KEY: k1", "API_KEY: '"+api.Mask+"'").Replace(doc)
	if got, want := h.ok(masked, "apply", "-f", "-"), "runner/private unchanged\n"; got != want {
		t.Errorf("re-apply with masked secrets printed %q, want %q", got, want)
	}
	got := unmarshal[api.Runner](t, h.ok("", "get", "runner", "private", "-o", "json"))
	want := api.Runner{Name: "private", GitURL: h.gitURL, Branch: "main", Token: api.Mask, Secret: map[string]string{"API_KEY": api.Mask}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("runner (-want +got):\n%s", diff)
	}
}

func TestApplyErrors(t *testing.T) {
	h := newHarness(t, true)
	dir := t.TempDir()
	runner := "kind: Runner\nname: r1\ngitURL: " + h.gitURL + "\n"
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		files   map[string]string
		args    []string // after "apply"; file names are relative to dir
		stdin   string
		wantErr string
	}{
		{name: "missing file", args: []string{"-f", "missing.yaml"},
			wantErr: "apply DIR/missing.yaml: no such file or directory"},
		{name: "invalid YAML", files: map[string]string{"bad.yaml": runner + "---\nkind: Task\nname: [unclosed\n"},
			args: []string{"-f", "bad.yaml"}, wantErr: "apply DIR/bad.yaml (document 2): invalid YAML"},
		{name: "unknown kind", files: map[string]string{"kind.yaml": runner + "---\nkind: Runnr\nname: x\n"},
			args: []string{"-f", "kind.yaml"}, wantErr: `apply DIR/kind.yaml (document 2): unknown kind "Runnr": want Runner, Task, Workflow, CronJob, EventSink, Group, User, Role, RoleBinding, EventRules, GitStateStore, DirectoryStateStore, Destination, Promise or CompositionDefinition, or the kind of a promise's API`},
		{name: "missing kind", files: map[string]string{"nokind.yaml": "name: x\n"},
			args: []string{"-f", "nokind.yaml"}, wantErr: "apply DIR/nokind.yaml (document 1): kind is missing"},
		{name: "unknown field", files: map[string]string{"field.yaml": "kind: Runner\nname: x\nrepo: " + h.gitURL + "\n"},
			args: []string{"-f", "field.yaml"}, wantErr: `apply DIR/field.yaml (document 1): Runner: unknown field "repo"`},
		{name: "invalid name", files: map[string]string{"name.yaml": "kind: Task\nname: Bad_Name\nrunner: r1\ncommand: x\n"},
			args: []string{"-f", "name.yaml"}, wantErr: `apply DIR/name.yaml (document 1): Task: name "Bad_Name"`},
		{name: "not a mapping", files: map[string]string{"list.yaml": "- a\n- b\n"},
			args: []string{"-f", "list.yaml"}, wantErr: "apply DIR/list.yaml (document 1): a document must be a mapping"},
		{name: "invalid JSON", files: map[string]string{"bad.json": `{"kind": "Runner",`},
			args: []string{"-f", "bad.json"}, wantErr: "apply DIR/bad.json (document 1): invalid JSON"},
		{name: "declared twice", files: map[string]string{"one.yaml": runner, "two.yaml": runner},
			args: []string{"-f", "one.yaml", "-f", "two.yaml"}, wantErr: "apply DIR/two.yaml (document 1): runner/r1 is also declared in DIR/one.yaml (document 1)"},
		{name: "empty directory", args: []string{"-f", "empty"}, wantErr: "apply DIR/empty: no .yaml, .yml or .json files"},
		{name: "no -f", wantErr: "-f is required"},
		{name: "stdin", stdin: "kind: Job\n", args: []string{"-f", "-"}, wantErr: `apply - (document 1): unknown kind "Job"`},
		{name: "server rejects", files: map[string]string{"task.yaml": "kind: Task\nname: t\nrunner: nosuchrunner\ncommand: x\n"},
			args: []string{"-f", "task.yaml"}, wantErr: "apply DIR/task.yaml (document 1): "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			args := []string{"apply"}
			for i, a := range tt.args {
				if i > 0 && tt.args[i-1] == "-f" && a != "-" {
					a = filepath.Join(dir, a)
				}
				args = append(args, a)
			}
			for name, content := range tt.files {
				write(t, dir, name, content)
			}
			got := strings.ReplaceAll(h.fail(tt.stdin, args...), dir, "DIR")
			if !strings.HasPrefix(got, "Error: "+tt.wantErr) {
				t.Errorf("apply %v: stderr\n%s\nwant it to start with %q", tt.args, got, "Error: "+tt.wantErr)
			}
		})
	}
	// Nothing reached the server: every error above came before any document was sent.
	if got := h.ok("", "get", "runners", "-o", "json"); got != "[]\n" {
		t.Errorf("runners after failed applies: %s, want none", got)
	}
}

// TestApplyTaskKubernetes: a task's kubernetes settings, pasted from a pod spec, are applied, compare equal when
// unchanged, and go away when the document drops them.
func TestApplyTaskKubernetes(t *testing.T) {
	h := newHarness(t, true)
	runner := "kind: Runner\nname: scripts\ngitURL: " + h.gitURL + "\n---\n"
	task := "kind: Task\nname: placed\nrunner: scripts\ncommand: ./hello.sh\n"
	kube := "kubernetes:\n  resources:\n    requests: {cpu: 100m, memory: 64Mi}\n    limits: {cpu: 1}\n" +
		"  nodeSelector: {disktype: ssd}\n  tolerations:\n  - {key: dedicated, operator: Equal, value: jobs, effect: NoSchedule}\n" +
		"  imagePullSecrets: [regcred]\n  imagePullPolicy: IfNotPresent\n"
	steps := []struct {
		name, doc, want string
		wantKube        *api.TaskKubernetes
	}{
		{"create", runner + task + kube, "runner/scripts created\ntask/placed created\n", &api.TaskKubernetes{
			Resources:        &api.ResourceRequirements{Requests: map[string]string{"cpu": "100m", "memory": "64Mi"}, Limits: map[string]string{"cpu": "1"}},
			NodeSelector:     map[string]string{"disktype": "ssd"},
			Tolerations:      []api.Toleration{{Key: "dedicated", Operator: "Equal", Value: "jobs", Effect: "NoSchedule"}},
			ImagePullSecrets: []string{"regcred"}, ImagePullPolicy: "IfNotPresent",
		}},
		{"unchanged", runner + task + kube, "runner/scripts unchanged\ntask/placed unchanged\n", nil},
		{"changed", runner + task + "kubernetes: {serviceAccount: jobs}\n", "runner/scripts unchanged\ntask/placed configured\n",
			&api.TaskKubernetes{ServiceAccount: "jobs"}},
		{"dropped", runner + task, "runner/scripts unchanged\ntask/placed configured\n", nil},
	}
	for _, s := range steps {
		if got := h.ok(s.doc, "apply", "-f", "-"); got != s.want {
			t.Errorf("%s: apply printed\n%s\nwant\n%s", s.name, got, s.want)
		}
		if s.name == "unchanged" {
			continue
		}
		got := unmarshal[api.Task](t, h.ok("", "get", "task", "placed", "-o", "json"))
		if diff := cmp.Diff(s.wantKube, got.Kubernetes); diff != "" {
			t.Errorf("%s: task kubernetes (-want +got):\n%s", s.name, diff)
		}
	}
	if e := h.fail("kind: Task\nname: placed\nrunner: scripts\ncommand: x\nkubernetes: {resources: {limits: {cpu: lots}}}\n", "apply", "-f", "-"); !strings.Contains(e, `kubernetes.resources.limits.cpu: "lots" is not a quantity`) {
		t.Errorf("apply with a bad quantity: stderr %q", e)
	}
}

// TestApplyTaskResources: a task's resources are applied, compare equal when unchanged, and go away when the
// document drops them.
func TestApplyTaskResources(t *testing.T) {
	h := newHarness(t, true)
	runner := "kind: Runner\nname: scripts\ngitURL: " + h.gitURL + "\n---\n"
	task := "kind: Task\nname: limited\nrunner: scripts\ncommand: ./hello.sh\n"
	steps := []struct {
		name, doc, want string
		wantResources   *api.TaskResources
	}{
		{"create", runner + task + "resources:\n  requests: {cpu: 100m}\n  limits: {cpu: 1, memory: 256Mi, pids: 128}\n",
			"runner/scripts created\ntask/limited created\n", &api.TaskResources{
				Requests: map[string]string{"cpu": "100m"},
				Limits:   map[string]string{"cpu": "1", "memory": "256Mi", "pids": "128"},
			}},
		{"unchanged", runner + task + "resources:\n  requests: {cpu: 100m}\n  limits: {cpu: 1, memory: 256Mi, pids: 128}\n",
			"runner/scripts unchanged\ntask/limited unchanged\n", nil},
		{"changed", runner + task + "resources: {limits: {pids: 64}}\n", "runner/scripts unchanged\ntask/limited configured\n",
			&api.TaskResources{Limits: map[string]string{"pids": "64"}}},
		{"dropped", runner + task, "runner/scripts unchanged\ntask/limited configured\n", nil},
	}
	for _, s := range steps {
		if got := h.ok(s.doc, "apply", "-f", "-"); got != s.want {
			t.Errorf("%s: apply printed\n%s\nwant\n%s", s.name, got, s.want)
		}
		if s.name == "unchanged" {
			continue
		}
		got := unmarshal[api.Task](t, h.ok("", "get", "task", "limited", "-o", "json"))
		if diff := cmp.Diff(s.wantResources, got.Resources); diff != "" {
			t.Errorf("%s: task resources (-want +got):\n%s", s.name, diff)
		}
	}
	if e := h.fail(task+"resources: {limits: {pids: 1.5}}\n", "apply", "-f", "-"); !strings.Contains(e, `resources.limits.pids: "1.5" is not a whole number`) {
		t.Errorf("apply with fractional pids: stderr %q", e)
	}
}

// TestApplyNetworkAndPullSecret: a task's network and a runner's image pull secret are applied; the secret comes
// back masked, and a document carrying it always counts as a change.
func TestApplyNetworkAndPullSecret(t *testing.T) {
	h := newHarness(t, true)
	const pull = `{"auths":{"registry.example.com":{"auth":"dXNlcjpwdWxsLXNlY3JldC03Nw=="}}}`
	runner := "kind: Runner\nname: scripts\ngitURL: " + h.gitURL + "\nimage_pull_secret: '" + pull + "'\n---\n"
	task := "kind: Task\nname: netted\nrunner: scripts\ncommand: ./hello.sh\nnetwork: host\n"
	if got, want := h.ok(runner+task, "apply", "-f", "-"), "runner/scripts created\ntask/netted created\n"; got != want {
		t.Errorf("apply printed\n%s\nwant\n%s", got, want)
	}
	if got, want := h.ok(runner+task, "apply", "-f", "-"), "runner/scripts configured\ntask/netted unchanged\n"; got != want {
		t.Errorf("apply again printed\n%s\nwant\n%s", got, want)
	}
	if got := unmarshal[api.Task](t, h.ok("", "get", "task", "netted", "-o", "json")); got.Network != api.NetworkHost {
		t.Errorf("task network %q, want %q", got.Network, api.NetworkHost)
	}
	out := h.ok("", "get", "runner", "scripts", "-o", "json")
	if got := unmarshal[api.Runner](t, out); got.ImagePullSecret != api.Mask || strings.Contains(out, "dXNlcjpwdWxsLXNlY3JldC03Nw") {
		t.Errorf("runner's image_pull_secret shows as %q (output %s), want the mask", got.ImagePullSecret, out)
	}
	if e := h.fail(task[:len(task)-len("host\n")]+"bridge\n", "apply", "-f", "-"); !strings.Contains(e, `network "bridge": want none, private or host`) {
		t.Errorf("apply with network bridge: stderr %q", e)
	}
}
