package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

func task(name, runner string) api.Task {
	return api.Task{Name: name, Runner: runner, Command: "./run.sh " + name}
}

// kube is a task's Kubernetes settings with every field set.
func kube() *api.TaskKubernetes {
	secs := int64(300)
	return &api.TaskKubernetes{
		Resources: &api.ResourceRequirements{
			Requests: map[string]string{"cpu": "100m", "memory": "64Mi"},
			Limits:   map[string]string{"cpu": "1", "memory": "128Mi", "nvidia.com/gpu": "1"},
		},
		ServiceAccount: "jobs",
		NodeSelector:   map[string]string{"kubernetes.io/arch": "amd64", "disk": "ssd"},
		Tolerations: []api.Toleration{
			{Key: "dedicated", Operator: "Equal", Value: "jobs", Effect: "NoSchedule"},
			{Key: "node.kubernetes.io/unreachable", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: &secs},
		},
		ImagePullSecrets: []string{"regcred", "mirror-cred"},
		ImagePullPolicy:  "Always",
	}
}

// resources is a task's resources with every resource set.
func resources() *api.TaskResources {
	return &api.TaskResources{
		Requests: map[string]string{"cpu": "250m", "memory": "32Mi"},
		Limits:   map[string]string{"cpu": "0.5", "memory": "64Mi", "pids": "128"},
	}
}

func testTaskRoundTrip(t *testing.T, s store.Store) {
	tests := []struct {
		name string
		t    api.Task
	}{
		{"minimal", task("minimal", "r")},
		{"everything", api.Task{Name: "everything", Runner: "r", Command: "python3 main.py --x 'y'", Synchronous: true,
			Schema:      json.RawMessage(`{"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}`),
			Timeout:     api.Duration(90 * time.Second),
			SyncTimeout: api.Duration(1500 * time.Millisecond),
			Resources:   resources(),
			Network:     api.NetworkHost,
			Kubernetes:  kube()}},
		{"network only", api.Task{Name: "net", Runner: "r", Command: "true", Network: api.NetworkPrivate}},
		{"resources only", api.Task{Name: "limited", Runner: "r", Command: "true", Resources: resources()}},
		{"long command", api.Task{Name: "long", Runner: "r", Command: longCommand}},
		{"kubernetes only pull policy", api.Task{Name: "pull", Runner: "r", Command: "true",
			Kubernetes: &api.TaskKubernetes{ImagePullPolicy: "Never"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			must(t, "CreateTask", s.CreateTask(t.Context(), tt.t))
			got, err := s.GetTask(t.Context(), tt.t.Name)
			must(t, "GetTask", err)
			if diff := cmp.Diff(tt.t, got, opts); diff != "" {
				t.Errorf("GetTask(%q) mismatch (-want +got):\n%s", tt.t.Name, diff)
			}
		})
	}
}

var longCommand = func() string {
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return string(b)
}()

func testTaskCreateConflict(t *testing.T, s store.Store) {
	must(t, "CreateTask", s.CreateTask(t.Context(), task("t", "r")))
	checkErr(t, `CreateTask("t") again`, s.CreateTask(t.Context(), task("t", "other")), store.ErrConflict, `task "t" already exists`)
}

func testTaskNotFound(t *testing.T, s store.Store) {
	_, err := s.GetTask(t.Context(), "nope")
	checkErr(t, `GetTask("nope")`, err, store.ErrNotFound, `task "nope" not found`)
	checkErr(t, `UpdateTask("nope")`, s.UpdateTask(t.Context(), task("nope", "r")), store.ErrNotFound, `task "nope" not found`)
	checkErr(t, `DeleteTask("nope")`, s.DeleteTask(t.Context(), "nope"), store.ErrNotFound, `task "nope" not found`)
}

func testTaskList(t *testing.T, s store.Store) {
	empty, err := s.ListTasks(t.Context())
	must(t, "ListTasks", err)
	if len(empty) != 0 {
		t.Errorf("ListTasks() of an empty store = %v, want none", empty)
	}
	want := []api.Task{task("a", "r2"), task("b", "r1"), task("c.d", "r1"), task("c_e", "r1")}
	want[2].Kubernetes = kube()
	want[3].Resources = resources()
	for _, i := range []int{2, 0, 3, 1} {
		must(t, "CreateTask", s.CreateTask(t.Context(), want[i]))
	}
	got, err := s.ListTasks(t.Context())
	must(t, "ListTasks", err)
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("ListTasks() mismatch (-want +got):\n%s", diff)
	}
}

func testTaskUpdate(t *testing.T, s store.Store) {
	orig := task("t", "r")
	orig.Schema = json.RawMessage(`{"type":"object"}`)
	must(t, "CreateTask", s.CreateTask(t.Context(), orig))
	steps := []struct {
		name string
		t    api.Task
	}{
		{"change everything", api.Task{Name: "t", Runner: "r2", Command: "make", Synchronous: true,
			Schema: json.RawMessage(`{"type":"array"}`), Timeout: api.Duration(time.Minute), SyncTimeout: api.Duration(time.Second),
			Resources: resources(), Network: api.NetworkHost, Kubernetes: kube()}},
		{"change kubernetes and resources", api.Task{Name: "t", Runner: "r2", Command: "make", Synchronous: true,
			Schema: json.RawMessage(`{"type":"array"}`), Timeout: api.Duration(time.Minute), SyncTimeout: api.Duration(time.Second),
			Resources:  &api.TaskResources{Limits: map[string]string{"pids": "10"}},
			Network:    api.NetworkNone,
			Kubernetes: &api.TaskKubernetes{NodeSelector: map[string]string{"pool": "batch"}}}},
		{"clear schema, timeouts, resources and kubernetes", api.Task{Name: "t", Runner: "r2", Command: "make"}},
	}
	for _, st := range steps {
		must(t, "UpdateTask "+st.name, s.UpdateTask(t.Context(), st.t))
		got, err := s.GetTask(t.Context(), "t")
		must(t, "GetTask", err)
		if diff := cmp.Diff(st.t, got, opts); diff != "" {
			t.Errorf("GetTask after UpdateTask (%s) mismatch (-want +got):\n%s", st.name, diff)
		}
	}
}

func testTaskDeleteKeepsJobs(t *testing.T, s store.Store) {
	must(t, "CreateTask", s.CreateTask(t.Context(), task("t", "r")))
	j, _, err := s.CreateJob(t.Context(), job("t-aaaaa", "t", 0))
	must(t, "CreateJob", err)
	must(t, "DeleteTask", s.DeleteTask(t.Context(), "t"))
	if _, err := s.GetTask(t.Context(), "t"); err == nil {
		t.Errorf("GetTask(%q) after DeleteTask succeeded, want ErrNotFound", "t")
	}
	got, err := s.GetJob(t.Context(), j.ID)
	must(t, "GetJob after DeleteTask", err)
	if diff := cmp.Diff(j, got, opts); diff != "" {
		t.Errorf("GetJob(%q) after DeleteTask mismatch (-want +got):\n%s", j.ID, diff)
	}
	// The name can be reused, and the old job is still there.
	must(t, "CreateTask after delete", s.CreateTask(t.Context(), task("t", "r")))
}

// testTaskKubernetesNone checks that settings that set nothing are stored as none: a task created or updated with
// them reads back without any.
func testTaskKubernetesNone(t *testing.T, s store.Store) {
	empty := []*api.TaskKubernetes{
		{},
		{Resources: &api.ResourceRequirements{}, NodeSelector: map[string]string{}, Tolerations: []api.Toleration{}},
	}
	for i, k := range empty {
		want := task("t"+string(rune('a'+i)), "r")
		in := want
		in.Kubernetes = k
		in.Resources = &api.TaskResources{Requests: map[string]string{}}
		must(t, "CreateTask", s.CreateTask(t.Context(), in))
		got, err := s.GetTask(t.Context(), in.Name)
		must(t, "GetTask", err)
		if diff := cmp.Diff(want, got, opts); diff != "" {
			t.Errorf("GetTask(%q) after CreateTask with empty kubernetes settings (-want +got):\n%s", in.Name, diff)
		}
		withSettings := want
		withSettings.Kubernetes = kube()
		withSettings.Resources = resources()
		must(t, "UpdateTask", s.UpdateTask(t.Context(), withSettings))
		must(t, "UpdateTask", s.UpdateTask(t.Context(), in))
		got, err = s.GetTask(t.Context(), in.Name)
		must(t, "GetTask", err)
		if diff := cmp.Diff(want, got, opts); diff != "" {
			t.Errorf("GetTask(%q) after UpdateTask with empty kubernetes settings (-want +got):\n%s", in.Name, diff)
		}
	}
	list, err := s.ListTasks(t.Context())
	must(t, "ListTasks", err)
	for _, x := range list {
		if x.Kubernetes != nil || x.Resources != nil {
			t.Errorf("ListTasks: task %q has kubernetes settings %+v or resources %+v, want none", x.Name, x.Kubernetes, x.Resources)
		}
	}
}
