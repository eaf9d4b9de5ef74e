// The Helm chart (deploy/helm/runplane), with the real helm binary ($RUNPLANE_HELM, or helm on PATH; skipped
// without one). TestChartLint, TestChartDefaults and TestChartValues need no cluster: they lint the chart and read
// what `helm template` renders — the executor's least-privilege Role, the hardened pod, the settings passed to the
// server. TestChartInstall (chart_install_test.go) installs the chart into the test cluster (RUNPLANE_KUBE_TEST=1)
// with the test image and a hostPath PersistentVolume behind the chart's claim, reaches the server through
// `kubectl port-forward` and runs a job end to end.

package kube_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// What the chart names things as release "rp".
const (
	chartName = "rp-runplane"
	jobSAName = "rp-runplane-job"
)

// executorRules is everything the server may do, in the job namespace only.
var executorRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"get", "list", "watch", "create", "delete"}},
	{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch", "delete", "patch"}},
	{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
	{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create", "get", "delete", "patch"}},
	{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"list"}},
	// Promise pipelines' service accounts and the Roles of their rbac.permissions (rbac.pipelines.create).
	{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "list", "create", "delete"}},
	{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"roles", "rolebindings"}, Verbs: []string{"get", "list", "create", "patch", "delete"}},
}

func TestChartLint(t *testing.T) {
	h := needHelm(t)
	for _, set := range [][]string{
		nil,
		{"executor.type=local", "persistence.enabled=false"},
		{"replicaCount=3", "store.existingSecret=pg", "keys.existingSecret=keys", "persistence.enabled=false"},
	} {
		args := []string{"lint", "--strict", chartDir}
		for _, s := range set {
			args = append(args, "--set", s)
		}
		if out, err := h.run(t.Context(), args...); err != nil {
			t.Errorf("%v\n%s", err, out)
		}
	}
}

// TestChartDefaults reads the default install: what it creates, who may do what, and how the server runs.
func TestChartDefaults(t *testing.T) {
	h := needHelm(t)
	m, err := h.template(t, "ops")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		chartKey("Deployment", "ops", chartName),
		chartKey("PersistentVolumeClaim", "ops", chartName),
		chartKey("Role", "ops", chartName),
		chartKey("RoleBinding", "ops", chartName),
		chartKey("Secret", "ops", chartName),
		chartKey("Service", "ops", chartName),
		chartKey("ServiceAccount", "ops", chartName),
		chartKey("ServiceAccount", "ops", jobSAName),
	}
	if d := cmp.Diff(want, m.keys()); d != "" {
		t.Errorf("rendered objects (-want +got); nothing cluster-scoped, no ClusterRole:\n%s", d)
	}

	role := chartObject[rbacv1.Role](t, m, chartKey("Role", "ops", chartName))
	if d := cmp.Diff(executorRules, role.Rules); d != "" {
		t.Errorf("Role rules (-want +got):\n%s", d)
	}
	binding := chartObject[rbacv1.RoleBinding](t, m, chartKey("RoleBinding", "ops", chartName))
	wantBinding := rbacv1.RoleBinding{
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: chartName},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: chartName, Namespace: "ops"}},
	}
	if d := cmp.Diff(wantBinding.RoleRef, binding.RoleRef); d != "" {
		t.Errorf("RoleBinding roleRef (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantBinding.Subjects, binding.Subjects); d != "" {
		t.Errorf("RoleBinding subjects (-want +got): only the server's account:\n%s", d)
	}
	jobSA := chartObject[corev1.ServiceAccount](t, m, chartKey("ServiceAccount", "ops", jobSAName))
	if jobSA.AutomountServiceAccountToken == nil || *jobSA.AutomountServiceAccountToken {
		t.Errorf("job ServiceAccount automountServiceAccountToken = %v, want false", jobSA.AutomountServiceAccountToken)
	}

	d := chartObject[appsv1.Deployment](t, m, chartKey("Deployment", "ops", chartName))
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("Deployment replicas %v, strategy %q; want 1, Recreate (SQLite)", d.Spec.Replicas, d.Spec.Strategy.Type)
	}
	pod := d.Spec.Template.Spec
	if pod.ServiceAccountName != chartName || pod.AutomountServiceAccountToken == nil || !*pod.AutomountServiceAccountToken {
		t.Errorf("pod service account %q, automount %v; want %s with its token (the executor calls the API)", pod.ServiceAccountName, pod.AutomountServiceAccountToken, chartName)
	}
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Errorf("pod enableServiceLinks = %v, want false: no RUNPLANE_PORT and the like in the server's environment", pod.EnableServiceLinks)
	}
	checkHardened(t, pod)
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Image != "ghcr.io/runplane/runplane:0.1.0" || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("image %s (%s), want ghcr.io/runplane/runplane:<appVersion> (IfNotPresent)", c.Image, c.ImagePullPolicy)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"readiness", c.ReadinessProbe, "/readyz"}, {"liveness", c.LivenessProbe, "/healthz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe %+v, want GET %s on port http", p.name, p.probe, p.path)
		}
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("ports %+v, want http 8080", c.Ports)
	}
	wantEnv := map[string]string{
		"RUNPLANE_LISTEN":              ":8080",
		"RUNPLANE_DATA_DIR":            "/data/runplane",
		"RUNPLANE_LOG_FORMAT":          "text",
		"RUNPLANE_LOG_LEVEL":           "info",
		"RUNPLANE_ROOT_PASSWORD":       "secret " + chartName + "/root-password",
		"RUNPLANE_EXECUTOR":            "kubernetes",
		"RUNPLANE_NAMESPACE":           "ops",
		"RUNPLANE_JOB_IMAGE":           "ghcr.io/runplane/runplane:0.1.0",
		"RUNPLANE_JOB_SERVICE_ACCOUNT": jobSAName,
		"RUNPLANE_JOB_TTL":             "5m",
		// The Service's cluster DNS name: where workflow steps' pods call the metadata API.
		"RUNPLANE_ADVERTISE_URL": "http://" + chartName + ".ops.svc:8080",
	}
	if d := cmp.Diff(wantEnv, containerEnv(c)); d != "" {
		t.Errorf("server env (-want +got):\n%s", d)
	}
	if d := cmp.Diff(defaultResources, c.Resources, cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })); d != "" {
		t.Errorf("server resources (-want +got): a small server's requests and limits by default:\n%s", d)
	}
	if sum := d.Spec.Template.Annotations["checksum/secret"]; len(sum) != 64 {
		t.Errorf("pod template annotation checksum/secret = %q, want a sha256 of the chart's Secret", sum)
	}
	secret := chartObject[corev1.Secret](t, m, chartKey("Secret", "ops", chartName))
	if pw := secret.Data["root-password"]; len(pw) < 20 {
		t.Errorf("generated root password %q: want 20 or more characters", pw)
	}
	pvc := chartObject[corev1.PersistentVolumeClaim](t, m, chartKey("PersistentVolumeClaim", "ops", chartName))
	if pvc.Spec.StorageClassName != nil || !cmp.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) || pvc.Spec.Resources.Requests.Storage().String() != "1Gi" {
		t.Errorf("PVC spec %+v: want 1Gi ReadWriteOnce of the default class", pvc.Spec)
	}
	if v := podVolume(t, pod, "data"); v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != chartName {
		t.Errorf("data volume %+v, want the claim %s", v, chartName)
	}
	svc := chartObject[corev1.Service](t, m, chartKey("Service", "ops", chartName))
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8080 || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("Service %+v: want ClusterIP 8080 → http", svc.Spec)
	}
}

// defaultResources are values.yaml's resources.
var defaultResources = corev1.ResourceRequirements{
	Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
	Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("512Mi")},
}

// checkHardened checks the server pod's security settings: non-root 65532, nothing to escalate with, and a
// read-only root with exactly the data dir and /tmp writable.
func checkHardened(t *testing.T, pod corev1.PodSpec) {
	t.Helper()
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 ||
		psc.FSGroup == nil || *psc.FSGroup != 65532 || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v: want runAsNonRoot, runAsUser and fsGroup 65532, seccomp RuntimeDefault", psc)
	}
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.Capabilities == nil || !cmp.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 || sc.Privileged != nil && *sc.Privileged {
			t.Errorf("container %s securityContext %+v: want no privilege escalation, read-only root, all capabilities dropped", c.Name, sc)
		}
		writable := map[string]bool{}
		for _, vm := range c.VolumeMounts {
			if !vm.ReadOnly {
				writable[vm.MountPath] = true
			}
		}
		if !cmp.Equal(writable, map[string]bool{"/data": true, "/tmp": true}) {
			t.Errorf("container %s writable mounts %v, want /data and /tmp", c.Name, writable)
		}
	}
}

// containerEnv maps a container's environment to values; a variable from a Secret reads "secret name/key".
func containerEnv(c corev1.Container) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = "secret " + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		case e.ValueFrom != nil:
			env[e.Name] = fmt.Sprintf("from %+v", e.ValueFrom)
		default:
			env[e.Name] = e.Value
		}
	}
	return env
}

func podVolume(t *testing.T, pod corev1.PodSpec, name string) corev1.Volume {
	t.Helper()
	for _, v := range pod.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("pod has no volume %q", name)
	return corev1.Volume{}
}

// TestChartValues renders the chart with the settings operators change and checks each one's effect.
func TestChartValues(t *testing.T) {
	h := needHelm(t)
	deployment := func(t *testing.T, m manifests) (corev1.PodSpec, map[string]string) {
		d := chartObject[appsv1.Deployment](t, m, chartKey("Deployment", "ops", chartName))
		return d.Spec.Template.Spec, containerEnv(d.Spec.Template.Spec.Containers[0])
	}
	tests := []struct {
		name  string
		set   []string
		check func(t *testing.T, m manifests)
	}{
		{"jobs in another namespace", []string{"executor.namespace=jobs"}, func(t *testing.T, m manifests) {
			role := chartObject[rbacv1.Role](t, m, chartKey("Role", "jobs", chartName))
			if d := cmp.Diff(executorRules, role.Rules); d != "" {
				t.Errorf("Role in the job namespace (-want +got):\n%s", d)
			}
			rb := chartObject[rbacv1.RoleBinding](t, m, chartKey("RoleBinding", "jobs", chartName))
			if want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: chartName, Namespace: "ops"}}; !cmp.Equal(rb.Subjects, want) {
				t.Errorf("RoleBinding subjects %+v, want %+v", rb.Subjects, want)
			}
			chartObject[corev1.ServiceAccount](t, m, chartKey("ServiceAccount", "jobs", jobSAName))
			chartObject[corev1.ServiceAccount](t, m, chartKey("ServiceAccount", "ops", chartName))
			for _, k := range []string{chartKey("Role", "ops", chartName), chartKey("ServiceAccount", "ops", jobSAName)} {
				if _, ok := m[k]; ok {
					t.Errorf("rendered %s: the server needs no rights where it runs", k)
				}
			}
			if _, env := deployment(t, m); env["RUNPLANE_NAMESPACE"] != "jobs" {
				t.Errorf("RUNPLANE_NAMESPACE = %q, want jobs", env["RUNPLANE_NAMESPACE"])
			}
		}},
		{"pipeline permissions to delegate", []string{"rbac.pipelines.delegate[0].apiGroups[0]=", "rbac.pipelines.delegate[0].resources[0]=configmaps",
			"rbac.pipelines.delegate[0].verbs[0]=get"}, func(t *testing.T, m manifests) {
			role := chartObject[rbacv1.Role](t, m, chartKey("Role", "ops", chartName))
			want := append(slices.Clone(executorRules), rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}})
			if d := cmp.Diff(want, role.Rules); d != "" {
				t.Errorf("Role rules (-want +got): the executor's and the delegated ones:\n%s", d)
			}
		}},
		{"no pipeline rbac", []string{"rbac.pipelines.create=false"}, func(t *testing.T, m manifests) {
			role := chartObject[rbacv1.Role](t, m, chartKey("Role", "ops", chartName))
			if d := cmp.Diff(executorRules[:5], role.Rules); d != "" {
				t.Errorf("Role rules (-want +got): the executor's only:\n%s", d)
			}
		}},
		{"local executor", []string{"executor.type=local"}, func(t *testing.T, m manifests) {
			for _, k := range m.keys() {
				if strings.HasPrefix(k, "Role") || k == chartKey("ServiceAccount", "ops", jobSAName) {
					t.Errorf("rendered %s for the local executor", k)
				}
			}
			pod, env := deployment(t, m)
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Errorf("pod automountServiceAccountToken = %v, want false", pod.AutomountServiceAccountToken)
			}
			for _, name := range []string{"RUNPLANE_EXECUTOR", "RUNPLANE_NAMESPACE", "RUNPLANE_JOB_IMAGE", "RUNPLANE_JOB_SERVICE_ACCOUNT"} {
				if v, ok := env[name]; ok {
					t.Errorf("%s=%q set for the local executor", name, v)
				}
			}
		}},
		{"image, job image, allowlist, TTL, extra env", []string{
			"image.repository=registry.example/rp", "image.tag=v9", "image.pullPolicy=Never",
			"executor.jobImage=registry.example/rp-job:v9", "executor.jobTTL=90s",
			"imageAllowlist={docker.io/library/*,registry.example/ops/*}",
			"extraEnv[0].name=RUNPLANE_TOKEN_TTL", "extraEnv[0].value=8h",
		}, func(t *testing.T, m manifests) {
			pod, env := deployment(t, m)
			if c := pod.Containers[0]; c.Image != "registry.example/rp:v9" || c.ImagePullPolicy != corev1.PullNever {
				t.Errorf("image %s (%s), want registry.example/rp:v9 (Never)", c.Image, c.ImagePullPolicy)
			}
			for name, want := range map[string]string{
				"RUNPLANE_JOB_IMAGE":       "registry.example/rp-job:v9",
				"RUNPLANE_JOB_TTL":         "90s",
				"RUNPLANE_IMAGE_ALLOWLIST": "docker.io/library/*,registry.example/ops/*",
				"RUNPLANE_TOKEN_TTL":       "8h",
			} {
				if env[name] != want {
					t.Errorf("%s = %q, want %q", name, env[name], want)
				}
			}
		}},
		{"advertise URL", []string{"advertiseURL=http://10.0.0.7:8080"}, func(t *testing.T, m manifests) {
			if _, env := deployment(t, m); env["RUNPLANE_ADVERTISE_URL"] != "http://10.0.0.7:8080" {
				t.Errorf("RUNPLANE_ADVERTISE_URL = %q, want the value's", env["RUNPLANE_ADVERTISE_URL"])
			}
		}},
		{"existing root password secret", []string{"auth.existingSecret=mine", "auth.existingSecretKey=pw"}, func(t *testing.T, m manifests) {
			if _, ok := m[chartKey("Secret", "ops", chartName)]; ok {
				t.Error("rendered a Secret although auth.existingSecret is set")
			}
			if _, env := deployment(t, m); env["RUNPLANE_ROOT_PASSWORD"] != "secret mine/pw" {
				t.Errorf("RUNPLANE_ROOT_PASSWORD = %q, want from secret mine/pw", env["RUNPLANE_ROOT_PASSWORD"])
			}
		}},
		{"existing claim", []string{"persistence.existingClaim=keep-me"}, func(t *testing.T, m manifests) {
			if _, ok := m[chartKey("PersistentVolumeClaim", "ops", chartName)]; ok {
				t.Error("rendered a PVC although persistence.existingClaim is set")
			}
			if pod, _ := deployment(t, m); podVolume(t, pod, "data").PersistentVolumeClaim.ClaimName != "keep-me" {
				t.Errorf("data volume %+v, want claim keep-me", podVolume(t, pod, "data"))
			}
		}},
		{"storage class, size, access modes", []string{"persistence.storageClass=fast", "persistence.size=5Gi", "persistence.accessModes={ReadWriteOncePod}"}, func(t *testing.T, m manifests) {
			pvc := chartObject[corev1.PersistentVolumeClaim](t, m, chartKey("PersistentVolumeClaim", "ops", chartName))
			if sc := pvc.Spec.StorageClassName; sc == nil || *sc != "fast" || pvc.Spec.Resources.Requests.Storage().String() != "5Gi" ||
				!cmp.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod}) {
				t.Errorf("PVC spec %+v, want 5Gi ReadWriteOncePod of class fast", pvc.Spec)
			}
		}},
		{"no storage class", []string{"persistence.storageClass=-"}, func(t *testing.T, m manifests) {
			pvc := chartObject[corev1.PersistentVolumeClaim](t, m, chartKey("PersistentVolumeClaim", "ops", chartName))
			if sc := pvc.Spec.StorageClassName; sc == nil || *sc != "" {
				t.Errorf("PVC storageClassName %v, want \"\" (a pre-created volume, no provisioner)", sc)
			}
		}},
		{"no persistence", []string{"persistence.enabled=false"}, func(t *testing.T, m manifests) {
			if _, ok := m[chartKey("PersistentVolumeClaim", "ops", chartName)]; ok {
				t.Error("rendered a PVC with persistence disabled")
			}
			if pod, _ := deployment(t, m); podVolume(t, pod, "data").EmptyDir == nil {
				t.Errorf("data volume %+v, want an emptyDir", podVolume(t, pod, "data"))
			}
		}},
		{"replicas on PostgreSQL", []string{"replicaCount=3", "store.existingSecret=pg", "keys.existingSecret=keys", "persistence.enabled=false"}, func(t *testing.T, m manifests) {
			d := chartObject[appsv1.Deployment](t, m, chartKey("Deployment", "ops", chartName))
			if *d.Spec.Replicas != 3 || d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
				t.Errorf("replicas %d, strategy %q; want 3 rolling", *d.Spec.Replicas, d.Spec.Strategy.Type)
			}
			pod, env := deployment(t, m)
			if env["RUNPLANE_STORE"] != "secret pg/url" || env["RUNPLANE_KEYS_DIR"] != "/keys" {
				t.Errorf("RUNPLANE_STORE %q, RUNPLANE_KEYS_DIR %q; want from secret pg/url, /keys", env["RUNPLANE_STORE"], env["RUNPLANE_KEYS_DIR"])
			}
			if v := podVolume(t, pod, "keys"); v.Secret == nil || v.Secret.SecretName != "keys" {
				t.Errorf("keys volume %+v, want secret keys", v)
			}
			checkHardened(t, pod) // the keys are mounted read-only
		}},
		{"node port", []string{"service.type=NodePort", "service.nodePort=30080", "service.port=80"}, func(t *testing.T, m manifests) {
			svc := chartObject[corev1.Service](t, m, chartKey("Service", "ops", chartName))
			if p := svc.Spec.Ports[0]; svc.Spec.Type != corev1.ServiceTypeNodePort || p.NodePort != 30080 || p.Port != 80 {
				t.Errorf("Service %+v, want NodePort 30080 for port 80", svc.Spec)
			}
		}},
		{"no resources", []string{"resources=null"}, func(t *testing.T, m manifests) {
			if pod, _ := deployment(t, m); !cmp.Equal(pod.Containers[0].Resources, corev1.ResourceRequirements{}) {
				t.Errorf("resources %v with resources=null, want none", pod.Containers[0].Resources)
			}
		}},
		{"scheduling and resources", []string{"nodeSelector.disk=ssd", "tolerations[0].key=dedicated", "tolerations[0].operator=Exists", "resources.limits.memory=1Gi"}, func(t *testing.T, m manifests) {
			pod, _ := deployment(t, m)
			if pod.NodeSelector["disk"] != "ssd" || len(pod.Tolerations) != 1 || pod.Containers[0].Resources.Limits.Memory().String() != "1Gi" {
				t.Errorf("nodeSelector %v, tolerations %v, resources %v", pod.NodeSelector, pod.Tolerations, pod.Containers[0].Resources)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := h.template(t, "ops", tt.set...)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range m.keys() {
				if strings.HasPrefix(k, "Cluster") {
					t.Errorf("rendered %s: the chart must need no cluster-wide rights", k)
				}
			}
			tt.check(t, m)
		})
	}

	// Settings that cannot work fail the install with a message saying what to change.
	for _, tt := range []struct {
		set  []string
		want string
	}{
		{[]string{"replicaCount=2"}, "replicaCount > 1 needs PostgreSQL"},
		{[]string{"replicaCount=2", "store.existingSecret=pg"}, "replicaCount > 1 needs keys.existingSecret"},
		{[]string{"replicaCount=2", "store.existingSecret=pg", "keys.existingSecret=k"}, "replicaCount > 1 needs persistence.enabled=false"},
	} {
		if _, err := h.template(t, "ops", tt.set...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("helm template --set %v = %v, want an error containing %q", tt.set, err, tt.want)
		}
	}
}
