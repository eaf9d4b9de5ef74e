package kubeexec

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
)

func testExecutor() *Executor {
	return &Executor{ns: "jobs", opts: Options{JobImage: "runplane:test", JobImagePullPolicy: corev1.PullIfNotPresent,
		TTL: time.Minute, StopGrace: 10 * time.Second, ServiceAccount: "runplane-job"}}
}

func testSpec() executor.Spec {
	return executor.Spec{
		JobID: "hello-ab12c", Task: "hello", Runner: "r1", Owner: "alice", Image: "busybox:1.36",
		Repo:    executor.Repo{URL: "https://git.example/repo.git", Branch: "dev", Token: "tok-must-not-leak"},
		Command: "echo hi", ExtraVars: []byte(`{"a":1}`),
		Secrets: map[string]string{"API_KEY": "secret-must-not-leak", "DB": "db-secret-must-not-leak"},
		Timeout: 90 * time.Second,
	}
}

func TestObjectsKeepSecretsOutOfTheJob(t *testing.T) {
	spec := testSpec()
	secret, job, err := testExecutor().objects("rp-hello-ab12c-xxxxx", spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(job)
	for _, v := range []string{spec.Repo.Token, spec.Secrets["API_KEY"], spec.Secrets["DB"]} {
		if strings.Contains(string(b), v) {
			t.Errorf("the Job spec contains the secret value %q", v)
		}
	}
	if secret == nil {
		t.Fatal("no Secret for a job with secrets and a token")
	}
	want := map[string]string{"API_KEY": spec.Secrets["API_KEY"], "DB": spec.Secrets["DB"], tokenKey: spec.Repo.Token}
	for k, v := range want {
		if string(secret.Data[k]) != v {
			t.Errorf("Secret[%q] = %q, want %q", k, secret.Data[k], v)
		}
	}
	if secret.Immutable == nil || !*secret.Immutable {
		t.Error("the Secret is not immutable")
	}
	// The token is never projected into the job's files or environment.
	pod := job.Spec.Template.Spec
	for _, v := range pod.Volumes {
		if v.Secret != nil {
			for _, it := range v.Secret.Items {
				if it.Key == tokenKey {
					t.Error("the token is projected into a volume")
				}
			}
		}
	}
	for _, c := range append(pod.InitContainers, pod.Containers...) {
		for _, e := range c.Env {
			if c.Name != containerCheckout && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Key == tokenKey {
				t.Errorf("container %s's environment has the token", c.Name)
			}
		}
	}
}

func TestObjectsHardened(t *testing.T) {
	_, job, err := testExecutor().objects("rp-x-xxxxx", testSpec(), nil)
	if err != nil {
		t.Fatal(err)
	}
	pod := job.Spec.Template.Spec
	sc := pod.SecurityContext
	switch {
	case sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Error("pod does not require a non-root user")
	case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Error("pod has no RuntimeDefault seccomp profile")
	case pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken:
		t.Error("pod mounts a service account token")
	case pod.EnableServiceLinks == nil || *pod.EnableServiceLinks:
		t.Error("pod gets service links in its environment")
	case pod.ServiceAccountName != "runplane-job":
		t.Errorf("service account %q, want the configured one", pod.ServiceAccountName)
	case pod.RestartPolicy != corev1.RestartPolicyNever:
		t.Error("restart policy is not Never")
	}
	for _, c := range append(pod.InitContainers, pod.Containers...) {
		s := c.SecurityContext
		if s == nil || s.AllowPrivilegeEscalation == nil || *s.AllowPrivilegeEscalation || s.ReadOnlyRootFilesystem == nil ||
			!*s.ReadOnlyRootFilesystem || s.Capabilities == nil || len(s.Capabilities.Drop) != 1 || s.Capabilities.Drop[0] != "ALL" {
			t.Errorf("container %s is not hardened: %+v", c.Name, s)
		}
	}
	if job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit != 0 {
		t.Error("backoffLimit is not 0")
	}
	if d := job.Spec.ActiveDeadlineSeconds; d == nil || *d != 120 {
		t.Errorf("activeDeadlineSeconds = %v, want 90s timeout + 30s slack", d)
	}
	if ttl := job.Spec.TTLSecondsAfterFinished; ttl == nil || *ttl != 60 {
		t.Errorf("ttlSecondsAfterFinished = %v, want 60", ttl)
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g != 10 {
		t.Errorf("terminationGracePeriodSeconds = %v, want 10", g)
	}
	main := jobContainer(t, pod)
	if want := []string{"sh", "-c", awaitCheckout, "runplane", "echo hi"}; strings.Join(main.Command, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("command %q, want %q", main.Command, want)
	}
	// Labels identify the job on the Job and on its pods (the informers select by managed-by; re-adoption finds a
	// job's Job by runplane.dev/job).
	wantLabels := map[string]string{
		"app.kubernetes.io/managed-by": "runplane", "runplane.dev/attempt": "rp-x-xxxxx",
		"runplane.dev/job": "hello-ab12c", "runplane.dev/task": "hello",
	}
	for what, got := range map[string]map[string]string{"Job": job.Labels, "pod template": job.Spec.Template.Labels} {
		if !reflect.DeepEqual(got, wantLabels) {
			t.Errorf("%s labels = %v, want %v", what, got, wantLabels)
		}
	}
}

func TestObjectsEnvironment(t *testing.T) {
	tests := []struct {
		name      string
		extraVars []byte
		want      string // EXTRA_VARS, or "-" for unset
	}{
		{"input", []byte(`{"a":1}`), `{"a":1}`},
		{"empty input is set", []byte{}, ""},
		{"no input", nil, "-"},
	}
	for _, tc := range tests {
		spec := testSpec()
		spec.ExtraVars = tc.extraVars
		_, job, err := testExecutor().objects("rp-x-xxxxx", spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := "-"
		env := map[string]corev1.EnvVar{}
		for _, e := range jobContainer(t, job.Spec.Template.Spec).Env {
			env[e.Name] = e
		}
		if e, ok := env["EXTRA_VARS"]; ok {
			got = e.Value
		}
		if got != tc.want {
			t.Errorf("%s: EXTRA_VARS %q, want %q", tc.name, got, tc.want)
		}
		for name, want := range map[string]string{"RUNPLANE_JOB_ID": "hello-ab12c", "RUNPLANE_TASK": "hello", "RUNPLANE_RUNNER": "r1", "RUNPLANE_OWNER": "alice", "HOME": workspaceDir} {
			if env[name].Value != want {
				t.Errorf("%s: %s = %q, want %q", tc.name, name, env[name].Value, want)
			}
		}
		if ref := env["API_KEY"].ValueFrom; ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Key != "API_KEY" {
			t.Errorf("%s: API_KEY is not taken from the Secret: %+v", tc.name, env["API_KEY"])
		}
	}
}

func TestObjectsTaskSettings(t *testing.T) {
	spec := testSpec()
	secs := int64(30)
	spec.Kubernetes = &api.TaskKubernetes{
		Resources:        &api.ResourceRequirements{Requests: map[string]string{"cpu": "100m"}, Limits: map[string]string{"memory": "64Mi"}},
		ServiceAccount:   "deployer",
		NodeSelector:     map[string]string{"disk": "ssd"},
		Tolerations:      []api.Toleration{{Key: "dedicated", Operator: "Equal", Value: "jobs", Effect: "NoSchedule", TolerationSeconds: &secs}},
		ImagePullSecrets: []string{"regcred"},
		ImagePullPolicy:  "Always",
	}
	_, job, err := testExecutor().objects("rp-x-xxxxx", spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	pod := job.Spec.Template.Spec
	main := jobContainer(t, pod)
	switch {
	case main.Resources.Requests.Cpu().String() != "100m" || main.Resources.Limits.Memory().String() != "64Mi":
		t.Errorf("resources %+v", main.Resources)
	case pod.ServiceAccountName != "deployer":
		t.Errorf("service account %q", pod.ServiceAccountName)
	case pod.NodeSelector["disk"] != "ssd":
		t.Errorf("node selector %v", pod.NodeSelector)
	case len(pod.Tolerations) != 1 || pod.Tolerations[0].Key != "dedicated" || *pod.Tolerations[0].TolerationSeconds != 30:
		t.Errorf("tolerations %+v", pod.Tolerations)
	case len(pod.ImagePullSecrets) != 1 || pod.ImagePullSecrets[0].Name != "regcred":
		t.Errorf("pull secrets %+v", pod.ImagePullSecrets)
	case main.ImagePullPolicy != corev1.PullAlways:
		t.Errorf("pull policy %q", main.ImagePullPolicy)
	}
	spec.Kubernetes.Resources.Limits["memory"] = "lots"
	if _, _, err := testExecutor().objects("rp-x-xxxxx", spec, nil); err == nil || !strings.Contains(err.Error(), "lots") {
		t.Errorf("a bad quantity: error %v, want one naming it", err)
	}
}

// TestObjectsNetwork: a task's network host is the pod's hostNetwork; the others keep the pod network.
func TestObjectsNetwork(t *testing.T) {
	tests := []struct {
		network string
		host    bool
		dns     corev1.DNSPolicy
	}{
		{"", false, ""},
		{api.NetworkNone, false, ""},
		{api.NetworkPrivate, false, ""},
		{api.NetworkHost, true, corev1.DNSClusterFirstWithHostNet},
	}
	for _, tt := range tests {
		spec := testSpec()
		spec.Network = tt.network
		_, job, err := testExecutor().objects("rp-x-xxxxx", spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		if pod := job.Spec.Template.Spec; pod.HostNetwork != tt.host || pod.DNSPolicy != tt.dns {
			t.Errorf("network %q: hostNetwork %v, dnsPolicy %q; want %v, %q", tt.network, pod.HostNetwork, pod.DNSPolicy, tt.host, tt.dns)
		}
	}
}

func TestObjectsWithoutSecrets(t *testing.T) {
	spec := testSpec()
	spec.Secrets, spec.Repo.Token = nil, ""
	secret, job, err := testExecutor().objects("rp-x-xxxxx", spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if secret != nil {
		t.Error("a Secret for a job with neither secrets nor a token")
	}
	for _, m := range jobContainer(t, job.Spec.Template.Spec).VolumeMounts {
		if m.MountPath == secretDir {
			t.Error("/etc/secret mounted for a job without secrets")
		}
	}
}

func TestNames(t *testing.T) {
	for _, id := range []string{"hello-ab12c", "UPPER_case.and.dots-x1y2z", strings.Repeat("long-", 40) + "abcde", "---", "é"} {
		name := jobName(id)
		if !isDNSLabel(name) || len(name) > 52 {
			t.Errorf("jobName(%q) = %q: not a DNS label of at most 52 characters", id, name)
		}
		h := handleFor("jobs", name)
		if ns, n, ok := parseHandle(h); !ok || ns != "jobs" || n != name {
			t.Errorf("parseHandle(%q) = %q, %q, %v", h, ns, n, ok)
		}
		if v := labelValue(id); !isLabelValue(v) {
			t.Errorf("labelValue(%q) = %q: not a label value", id, v)
		}
	}
	if jobName("a") == jobName("a") {
		t.Error("two attempts of one job got the same name")
	}
	for _, h := range []executor.Handle{"", "kube:", "kube:ns", "kube:ns/", "kube:/x", "kube:NS/x", "local:1:2", "kube:ns/a/b"} {
		if _, _, ok := parseHandle(h); ok {
			t.Errorf("parseHandle(%q) accepted it", h)
		}
	}
}

// jobContainer is a command job's container, the one named containerJob.
func jobContainer(t *testing.T, pod corev1.PodSpec) corev1.Container {
	t.Helper()
	for _, c := range append(pod.InitContainers, pod.Containers...) {
		if c.Name == containerJob {
			return c
		}
	}
	t.Fatalf("no %s container", containerJob)
	return corev1.Container{}
}

// Only a job whose kubernetes settings ask for its service account's token (a promise pipeline with rbac) mounts
// it; naming an account alone, as a task may, does not.
func TestObjectsServiceAccountToken(t *testing.T) {
	tests := []struct {
		name      string
		k         *api.TaskKubernetes
		wantSA    string
		wantToken bool
	}{
		{"none", nil, "runplane-job", false},
		{"an account", &api.TaskKubernetes{ServiceAccount: "backup"}, "backup", false},
		{"a pipeline's account and token", &api.TaskKubernetes{ServiceAccount: "redis-resource-configure-p", ServiceAccountToken: true},
			"redis-resource-configure-p", true},
		{"a token without an account", &api.TaskKubernetes{ServiceAccountToken: true}, "runplane-job", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := testSpec()
			spec.Kubernetes = tc.k
			_, job, err := testExecutor().objects("rp-x-xxxxx", spec, nil)
			if err != nil {
				t.Fatal(err)
			}
			pod := job.Spec.Template.Spec
			if pod.ServiceAccountName != tc.wantSA || pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken != tc.wantToken {
				t.Errorf("pod account %q, token %v; want %q, %v", pod.ServiceAccountName, pod.AutomountServiceAccountToken, tc.wantSA, tc.wantToken)
			}
		})
	}
}
