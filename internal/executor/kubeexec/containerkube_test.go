package kubeexec

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/runplane/runplane/api"
)

// A container's pod-only settings (a Kratix pipeline container's) reach its container in the pod; the task's
// volumes reach the pod.
func TestObjectsContainerKubernetes(t *testing.T) {
	spec := multiSpec()
	spec.Kubernetes = &api.TaskKubernetes{Volumes: []byte(`[{"name":"templates","configMap":{"name":"cache-templates"}}]`)}
	spec.Containers[0].Kubernetes = &api.ContainerKubernetes{
		Env:             []api.KubeEnvVar{{Name: "TOKEN", ValueFrom: []byte(`{"secretKeyRef":{"name":"cache-token","key":"token"}}`)}},
		EnvFrom:         []byte(`[{"configMapRef":{"name":"cache-defaults"}}]`),
		VolumeMounts:    []byte(`[{"name":"templates","mountPath":"/templates","readOnly":true}]`),
		SecurityContext: []byte(`{"runAsUser":1000,"allowPrivilegeEscalation":false}`),
		ImagePullPolicy: api.PullAlways,
		Resources:       &api.ResourceRequirements{Requests: map[string]string{"cpu": "100m"}, Limits: map[string]string{"memory": "256Mi"}},
	}
	_, job, err := testExecutor().objects("rp-x-xxxxx", spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	pod := job.Spec.Template.Spec
	fetch, build := pod.InitContainers[1], pod.InitContainers[2]
	if fetch.Name != "fetch" {
		t.Fatalf("first step container %q, want fetch", fetch.Name)
	}
	i := slices.IndexFunc(fetch.Env, func(e corev1.EnvVar) bool { return e.Name == "TOKEN" })
	if i < 0 || fetch.Env[i].ValueFrom == nil || fetch.Env[i].ValueFrom.SecretKeyRef == nil || fetch.Env[i].ValueFrom.SecretKeyRef.Key != "token" {
		t.Errorf("fetch's env TOKEN = %+v, want valueFrom secretKeyRef cache-token/token", fetch.Env)
	}
	if len(fetch.EnvFrom) != 1 || fetch.EnvFrom[0].ConfigMapRef == nil || fetch.EnvFrom[0].ConfigMapRef.Name != "cache-defaults" {
		t.Errorf("fetch's envFrom = %+v", fetch.EnvFrom)
	}
	if !slices.ContainsFunc(fetch.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.Name == "templates" && m.MountPath == "/templates" && m.ReadOnly
	}) ||
		!slices.ContainsFunc(fetch.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == api.KratixOutputDir }) {
		t.Errorf("fetch's volume mounts = %+v, want runplane's and /templates", fetch.VolumeMounts)
	}
	if sc := fetch.SecurityContext; sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 1000 {
		t.Errorf("fetch's securityContext = %+v, want the container's", sc)
	}
	if fetch.ImagePullPolicy != corev1.PullAlways || build.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("pull policies %s, %s; want Always for fetch alone", fetch.ImagePullPolicy, build.ImagePullPolicy)
	}
	if q := fetch.Resources.Limits[corev1.ResourceMemory]; q.Cmp(resource.MustParse("256Mi")) != 0 || len(build.Resources.Limits) != 0 {
		t.Errorf("resources %+v, %+v; want fetch's own", fetch.Resources, build.Resources)
	}
	if build.SecurityContext == nil || build.SecurityContext.ReadOnlyRootFilesystem == nil || !*build.SecurityContext.ReadOnlyRootFilesystem {
		t.Errorf("build's securityContext = %+v, want runplane's hardened default", build.SecurityContext)
	}
	if !slices.ContainsFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == "templates" && v.ConfigMap != nil }) {
		t.Errorf("pod volumes = %+v, want templates", pod.Volumes)
	}
}
