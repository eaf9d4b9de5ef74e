package kube_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runplane/runplane/internal/executor/kubeexec/kubetest"
	"github.com/runplane/runplane/internal/platform/chart/helmchart/charttest"
	"github.com/runplane/runplane/internal/server"
)

const registryPassword = "kube-registry-Pa55"

// chartRegistry is a private OCI registry on loopback (go-containerregistry, basic auth krateo/registryPassword)
// holding fireworks-app 0.1.0 and 0.2.0 (values.schema.json; a ConfigMap named after the release, saying its chart
// version), built with the Helm SDK. The server reads charts; the pods get the package from it, never the registry.
func chartRegistry(t *testing.T) string {
	t.Helper()
	return charttest.Registry(t, "krateo", registryPassword,
		charttest.ConfigMapChart("fireworks-app", "0.1.0", charttest.FireworksSchema),
		charttest.ConfigMapChart("fireworks-app", "0.2.0", charttest.FireworksSchema))
}

// TestKubectlComposition: the server (in this process, the Kubernetes executor, --install-crds, the cluster's
// kubeconfig) serves Krateo's CompositionDefinition. Driven with kubectl alone: a definition whose chart is in a
// private OCI registry (its password a Secret) becomes Ready and its type a CRD; an instance applied with kubectl
// is installed by a job running in runplane's image (its ConfigMap in the cluster, its status Ready with the chart
// version); a new chart version adds a version to the CRD, and relabelling the instance upgrades its release to
// it; kubectl delete uninstalls (the ConfigMap goes) before the object goes; deleting the definition removes the
// CRD.
func TestKubectlComposition(t *testing.T) {
	e := needCluster(t)
	kubectl := needKubectl(t)
	ns := e.Namespace(t)
	ctx := t.Context()
	if _, err := e.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "registry"},
		StringData: map[string]string{"password": registryPassword}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	host := chartRegistry(t)
	kubeconfig := os.Getenv("KUBECONFIG")
	if kubeconfig == "" {
		t.Fatal("KUBECONFIG must name the cluster's kubeconfig (eval \"$(hack/kube/cluster.sh env)\")")
	}
	e.newServer(t, ns, func(c *server.Config) { c.Kubeconfig, c.InstallCRDs = kubeconfig, true })

	kc := kubectlCLI{t: t, path: kubectl, timeout: 4 * time.Minute}
	k, apply, getJSON := kc.run, kc.apply, kc.getJSON
	const crd = "fireworksapps.composition.krateo.io"
	t.Cleanup(func() {
		if t.Failed() {
			dumpNamespace(t, kubectl, ns)
			out, _ := k("get", "compositiondefinitions,fireworksapps", "-n", ns, "-o", "yaml")
			t.Logf("definitions and compositions:\n%s", out)
		}
		// What the server left with its finalizer (a failed test) goes, then the generated CRD.
		for _, obj := range [][]string{{"fireworksapps.composition.krateo.io", "fw", "-n", ns}, {"compositiondefinitions.core.krateo.io", "fireworks", "-n", ns}} {
			_, _ = k(append([]string{"patch", "--type", "merge", "-p", `{"metadata":{"finalizers":null}}`}, obj...)...)
			_, _ = k(append([]string{"delete", "--ignore-not-found", "--wait=false"}, obj...)...)
		}
		_, _ = k("delete", "crd", crd, "--ignore-not-found", "--wait=false")
	})
	kubetest.WaitFor(t, time.Minute, "the CompositionDefinition CRD served", func() bool {
		_, err := k("get", "compositiondefinitions.core.krateo.io", "-n", ns)
		return err == nil
	})

	definition := func(version string) string {
		return fmt.Sprintf(`apiVersion: core.krateo.io/v1alpha1
kind: CompositionDefinition
metadata:
  name: fireworks
  namespace: %s
spec:
  chart:
    repo: fireworks-app
    url: oci://%s/charts
    version: "%s"
    credentials:
      username: krateo
      passwordRef: {name: registry, namespace: %s, key: password}
`, ns, host, version, ns)
	}
	servedVersions := func() string {
		var out []string
		spec, _ := getJSON("crd", crd)["spec"].(map[string]any)
		versions, _ := spec["versions"].([]any)
		for _, v := range versions {
			if m, _ := v.(map[string]any); m["served"] == true {
				out = append(out, fmt.Sprint(m["name"]))
			}
		}
		return strings.Join(out, ",")
	}
	apply(definition("0.1.0"))
	kubetest.WaitFor(t, 2*time.Minute, "the definition Ready", func() bool {
		return statusCondition(getJSON("compositiondefinition", "fireworks", "-n", ns), "Ready") == "True"
	})
	kubetest.WaitFor(t, time.Minute, "the generated CRD serving v0-1-0", func() bool { return servedVersions() == "v0-1-0" })

	// An instance applied with kubectl: installed by a job in runplane's image.
	apply(fmt.Sprintf("apiVersion: composition.krateo.io/v0-1-0\nkind: FireworksApp\nmetadata: {name: fw, namespace: %s}\nspec: {app: {replicas: 2}}\n", ns))
	configMap := func() (*corev1.ConfigMap, error) {
		return e.Client.CoreV1().ConfigMaps(ns).Get(ctx, "fw", metav1.GetOptions{})
	}
	installedFrom := func(version string) func() bool {
		return func() bool {
			obj := getJSON("fireworksapps.composition.krateo.io", "fw", "-n", ns)
			st, _ := obj["status"].(map[string]any)
			if statusCondition(obj, "Ready") != "True" || st["helmChartVersion"] != version {
				return false
			}
			cm, err := configMap()
			return err == nil && cm.Data["chart"] == version && cm.Data["replicas"] == "2"
		}
	}
	kubetest.WaitFor(t, 4*time.Minute, "the instance installed from 0.1.0", installedFrom("0.1.0"))
	st, _ := getJSON("fireworksapps.composition.krateo.io", "fw", "-n", ns)["status"].(map[string]any)
	if managed, _ := st["managed"].([]any); len(managed) != 1 || !strings.HasPrefix(fmt.Sprint(st["digest"]), "sha256:") {
		t.Errorf("installed status = %v, want managed[] with the ConfigMap and a digest", st)
	}

	// A new chart version: a new version of the CRD; the relabelled instance is upgraded to it.
	apply(definition("0.2.0"))
	kubetest.WaitFor(t, 2*time.Minute, "the generated CRD serving v0-2-0 too", func() bool { return servedVersions() == "v0-1-0,v0-2-0" })
	if _, err := k("label", "--overwrite", "fireworksapps.composition.krateo.io", "fw", "-n", ns, "krateo.io/composition-version=v0-2-0"); err != nil {
		t.Fatal(err)
	}
	kubetest.WaitFor(t, 4*time.Minute, "the instance upgraded to 0.2.0", installedFrom("0.2.0"))

	// kubectl delete waits for the uninstall (behind the finalizer).
	if _, err := k("delete", "fireworksapps.composition.krateo.io", "fw", "-n", ns, "--timeout", "3m"); err != nil {
		t.Fatal(err)
	}
	if _, err := configMap(); !apierrors.IsNotFound(err) {
		t.Errorf("after kubectl delete returned, the release's ConfigMap: %v, want NotFound", err)
	}
	if _, err := k("delete", "compositiondefinition", "fireworks", "-n", ns, "--timeout", "2m"); err != nil {
		t.Fatal(err)
	}
	kubetest.WaitFor(t, 2*time.Minute, "the generated CRD removed", func() bool { return getJSON("crd", crd) == nil })
}
