package kubeexec

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/inpod"
)

func multiSpec() executor.Spec {
	spec := testSpec()
	spec.Command = ""
	spec.Containers = []api.Container{
		{Name: "fetch", Command: []string{"sh", "-c", "echo a"}, Env: api.EnvVars{{Name: "STAGE", Value: "mine"}, {Name: "A", Value: "1"}}},
		{Name: "build_it", Image: "golang:1.26", Command: []string{"go"}, Args: []string{"build"}, WorkingDir: "/src"},
		{Name: "checkout", Image: "kratix/pipeline:1"}, // no command: the image's entrypoint
	}
	spec.InputFiles = map[string][]byte{"object.yaml": []byte("kind: must-not-leak\n")}
	spec.ExtraEnv = []string{"RUNPLANE_METADATA_URL=http://runplane:8080/api/v1/metadata", "STAGE=base"}
	return spec
}

func TestObjectsContainers(t *testing.T) {
	spec := multiSpec()
	secret, job, err := testExecutor().objects("rp-x-xxxxx", spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	pod := job.Spec.Template.Spec
	var names []string
	for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
		names = append(names, c.Name)
	}
	// The checkout, then the containers in order, the last as the main container; names that are not valid
	// container names (or taken) become step-<i>.
	if want := []string{"checkout", "fetch", "step-1", "step-2"}; !slices.Equal(names, want) {
		t.Fatalf("containers %q, want %q", names, want)
	}
	if len(pod.Containers) != 1 || pod.Containers[0].Name != "step-2" {
		t.Errorf("main container %q, want the last step", pod.Containers[0].Name)
	}
	fetch, build, last := pod.InitContainers[1], pod.InitContainers[2], pod.Containers[0]
	tests := []struct {
		name    string
		c       corev1.Container
		image   string
		command []string
		args    []string
		dir     string
		stage   string
	}{
		{"runner image, command under pid1", fetch, spec.Image, []string{"/run/runplane/bin/runplane-pid1", "--", "sh", "-c", "echo a"}, nil, workspaceDir, "mine"},
		{"own image, args, workingDir", build, "golang:1.26", []string{"/run/runplane/bin/runplane-pid1", "--", "go"}, []string{"build"}, "/src", "base"},
		{"entrypoint", last, "kratix/pipeline:1", nil, nil, workspaceDir, "base"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			if c.Image != tc.image || !slices.Equal(c.Command, tc.command) || !slices.Equal(c.Args, tc.args) || c.WorkingDir != tc.dir {
				t.Errorf("image %q command %q args %q dir %q, want %q %q %q %q", c.Image, c.Command, c.Args, c.WorkingDir, tc.image, tc.command, tc.args, tc.dir)
			}
			env := map[string]corev1.EnvVar{}
			for _, e := range c.Env {
				if _, dup := env[e.Name]; dup {
					t.Errorf("env %s set twice", e.Name)
				}
				env[e.Name] = e
			}
			for n, v := range map[string]string{
				"RUNPLANE_INPUT_DIR": "/runplane/input", "RUNPLANE_OUTPUT_DIR": "/runplane/output", "RUNPLANE_METADATA_DIR": "/runplane/metadata",
				"STAGE": tc.stage, "EXTRA_VARS": `{"a":1}`, "RUNPLANE_METADATA_URL": "http://runplane:8080/api/v1/metadata", "RUNPLANE_JOB_ID": spec.JobID,
			} {
				if env[n].Value != v {
					t.Errorf("env %s = %q, want %q", n, env[n].Value, v)
				}
			}
			if r := env["API_KEY"].ValueFrom; r == nil || r.SecretKeyRef == nil {
				t.Error("secret API_KEY is not from the Secret")
			}
			mounts := map[string]string{}
			for _, m := range c.VolumeMounts {
				mounts[m.MountPath] = m.Name
			}
			for at, vol := range map[string]string{
				"/runplane/input": "input", "/kratix/input": "input", "/runplane/output": "output", "/kratix/output": "output",
				"/runplane/metadata": "metadata", "/kratix/metadata": "metadata", "/workspace": "workspace", "/etc/secret": "secret",
				"/keptn": "input",
			} {
				if mounts[at] != vol {
					t.Errorf("%s mounts %q, want volume %q", at, mounts[at], vol)
				}
			}
			if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
				t.Error("not hardened")
			}
		})
	}
	// The input files travel in the Secret, never in the Job, and the checkout copies them to the input dir.
	b, _ := json.Marshal(job)
	if strings.Contains(string(b), "must-not-leak") {
		t.Error("the Job spec contains an input file's content")
	}
	if string(secret.Data[".input.0"]) != string(spec.InputFiles["object.yaml"]) {
		t.Errorf("Secret[.input.0] = %q, want object.yaml's content", secret.Data[".input.0"])
	}
	var steps []step
	if err := json.Unmarshal([]byte(job.Spec.Template.Annotations[annContainers]), &steps); err != nil || len(steps) != 3 || steps[1].Name != "build_it" || steps[1].Container != "step-1" {
		t.Errorf("annotation %s = %q (%v)", annContainers, job.Spec.Template.Annotations[annContainers], err)
	}
}

// TestObjectsCommandJob: a command job's pod starts the checkout and the job's container together; the job's
// container waits for the checkout (awaitCheckout), which alone has the token.
func TestObjectsCommandJob(t *testing.T) {
	spec := testSpec()
	spec.ExtraEnv = []string{"RUNPLANE_METADATA_URL=http://x"}
	_, job, err := testExecutor().objects("rp-x-xxxxx", spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	pod := job.Spec.Template.Spec
	if len(pod.InitContainers) != 0 || len(pod.Containers) != 2 || pod.Containers[0].Name != containerCheckout || pod.Containers[1].Name != containerJob {
		t.Fatalf("%d init containers, %d containers, want the checkout and the job started together", len(pod.InitContainers), len(pod.Containers))
	}
	if want := []string{"sh", "-c", awaitCheckout, "runplane", spec.Command}; !slices.Equal(pod.Containers[1].Command, want) {
		t.Errorf("job command %q, want %q", pod.Containers[1].Command, want)
	}
	if !slices.Contains(pod.Containers[0].Env, corev1.EnvVar{Name: inpod.EnvReadyDir, Value: toolsDir}) {
		t.Errorf("the checkout is not told to mark its end in %s: %+v", toolsDir, pod.Containers[0].Env)
	}
	if _, ok := job.Annotations[annContainers]; ok {
		t.Errorf("a command job has annotation %s", annContainers)
	}
	var got []string
	for _, e := range pod.Containers[1].Env {
		if strings.HasPrefix(e.Name, "RUNPLANE_") && strings.HasSuffix(e.Name, "_DIR") {
			t.Errorf("a command job has env %s", e.Name)
		}
		got = append(got, e.Name+"="+e.Value)
	}
	if !slices.Contains(got, "RUNPLANE_METADATA_URL=http://x") {
		t.Errorf("env %q lacks ExtraEnv", got)
	}
	for _, m := range pod.Containers[1].VolumeMounts {
		if m.Name == "tools" && !m.ReadOnly {
			t.Error("the job container may write the tools (and the checkout's markers)")
		}
	}
}

func TestObjectsRefuse(t *testing.T) {
	tests := []struct {
		name string
		edit func(*executor.Spec)
		want string
	}{
		{"no image anywhere", func(s *executor.Spec) { s.Image = ""; s.Containers[0].Image = "" }, "container fetch has no image"},
		{"input file outside", func(s *executor.Spec) { s.InputFiles = map[string][]byte{"a/../../b": nil} }, `input file "a/../../b"`},
		{"input file absolute", func(s *executor.Spec) { s.InputFiles = map[string][]byte{"/etc/b": nil} }, `input file "/etc/b"`},
		{"input file and directory", func(s *executor.Spec) { s.InputFiles = map[string][]byte{"a": nil, "a/b": nil} }, `input file "a"`},
		{"input file ..data", func(s *executor.Spec) { s.InputFiles = map[string][]byte{"..data": nil} }, `input file "..data"`},
		{"input files too big", func(s *executor.Spec) { s.InputFiles = map[string][]byte{"big": make([]byte, 1<<20)} }, "over the 900 KiB"},
		{"bad container", func(s *executor.Spec) { s.Containers[1].Name = "" }, "containers[1].name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := multiSpec()
			tc.edit(&spec)
			_, _, err := testExecutor().objects("rp-x-xxxxx", spec, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("objects: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func FuzzInputFiles(f *testing.F) {
	for _, s := range []string{"object.yaml", "a/b", "..data", ".", "", "x\x00", "a/../b", "/a", "a//b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		items, err := inputFiles(map[string][]byte{name: []byte("x")})
		if err != nil {
			return
		}
		// What a Secret volume's items accept: a relative path, no element "..", none starting with "..".
		p := items[0].Path
		for _, el := range strings.Split(p, "/") {
			if el == "" || el == "." || strings.HasPrefix(el, "..") {
				t.Errorf("inputFiles accepted %q", name)
			}
		}
	})
}

func TestContainerStatuses(t *testing.T) {
	steps := []step{{Name: "a", Container: "a"}, {Name: "b", Container: "b"}, {Name: "c", Container: "c"}}
	pod := &corev1.Pod{Status: corev1.PodStatus{
		InitContainerStatuses: []corev1.ContainerStatus{
			{Name: "checkout", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}},
			{Name: "a", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}},
			{Name: "b", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error"}}},
		},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}}},
	}}
	got := containerStatuses(pod, steps)
	if len(got) != 3 || got[0].ExitCode == nil || *got[0].ExitCode != 0 || got[1].ExitCode == nil || *got[1].ExitCode != 3 ||
		got[2].ExitCode != nil || got[2].Name != "c" || got[1].Reason != "" {
		b, _ := json.Marshal(got)
		t.Errorf("containerStatuses = %s", b)
	}
}
