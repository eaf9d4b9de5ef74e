package server

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor/local"
	"github.com/runplane/runplane/internal/kubetest/apiserver"
	"github.com/runplane/runplane/internal/platform/kubemirror"
	"github.com/runplane/runplane/internal/platform/kubemirror/doorstest"
)

var (
	definitionsGVR = schema.GroupVersionResource{Group: "core.krateo.io", Version: "v1alpha1", Resource: "compositiondefinitions"}
	crdsGVR        = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

func fireworksGVR(version string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "composition.krateo.io", Version: version, Resource: "fireworksapps"}
}

// fromYAML reads a manifest as kubectl would send it.
func fromYAML(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

// TestCompositionsInCluster: with the Kubernetes API served (--install-crds) against a private API server, Krateo's
// CompositionDefinition is a CRD; one applied in the cluster (its chart in a private OCI registry, its password a
// Secret) is stored, read and gets its type's CRD installed, its status Ready in the cluster; an instance applied
// in the cluster is installed (its ConfigMap there, its status with managed[] and the chart version on the status
// subresource); one created through the REST API appears in the cluster; a new chart version adds a version to
// the CRD, and relabelling the instance in the cluster upgrades it; krateo.io/paused reaches the store; a delete in
// the cluster uninstalls first (behind the finalizer); the definition's delete removes the CRD.
func TestCompositionsInCluster(t *testing.T) {
	kube := apiserver.Start(t)
	ctx := t.Context()
	cs := kube.Clientset(t, "krateo-system", "demo")
	dc, err := dynamic.NewForConfig(kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets("krateo-system").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "registry"},
		StringData: map[string]string{"password": chartPassword}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	host := privateChartRegistry(t)
	// Jobs run unsandboxed: the step is this test binary, under /tmp (compositions_kube_test.go).
	ts := startServer(t, func(c *Config) {
		c.Kubeconfig, c.Isolation, c.InstallCRDs = kube.Kubeconfig, local.IsolationNone, true
	})
	eventually := func(what string, cond func() error) {
		t.Helper()
		apiserver.Eventually(ctx, t, 2*time.Minute, func() error {
			if err := cond(); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			return nil
		})
	}
	eventually("the CompositionDefinition CRD served", func() error {
		_, err := dc.Resource(definitionsGVR).Namespace("krateo-system").List(ctx, metav1.ListOptions{})
		return err
	})

	// A definition applied in the cluster: stored, its chart read, its type's CRD installed, Ready in the cluster.
	defs := dc.Resource(definitionsGVR).Namespace("krateo-system")
	if _, err := defs.Create(ctx, fromYAML(t, definitionDoc("fireworks", host, "fireworks-app", "0.1.0", "password")),
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("the definition Ready in the cluster", func() error {
		d, err := defs.Get(ctx, "fireworks", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if ready := conditionOf(d, "Ready"); ready != "True" {
			return fmt.Errorf("Ready = %q (status %v)", ready, d.Object["status"])
		}
		if v, _, _ := unstructured.NestedString(d.Object, "status", "apiVersion"); v != "composition.krateo.io/v0-1-0" {
			return fmt.Errorf("status.apiVersion = %q", v)
		}
		return nil
	})
	ts.do(t, req{method: "GET", path: "/api/v1/compositiondefinitions/krateo-system/fireworks"}).want(t, http.StatusOK)
	eventually("the generated CRD", func() error {
		crd, err := dc.Resource(crdsGVR).Get(ctx, "fireworksapps.composition.krateo.io", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := servedVersions(crd); !slices.Equal(got, []string{"v0-1-0"}) {
			return fmt.Errorf("served versions %v", got)
		}
		return nil
	})

	// An instance applied in the cluster is installed; its status reaches the status subresource.
	comps := func(version string) dynamic.ResourceInterface {
		return dc.Resource(fireworksGVR(version)).Namespace("demo")
	}
	eventually("fireworksapps served", func() error {
		_, err := comps("v0-1-0").List(ctx, metav1.ListOptions{})
		return err
	})
	if _, err := comps("v0-1-0").Create(ctx, fromYAML(t, compositionDoc("fw", "v0-1-0", `{app: {replicas: 1}}`)),
		metav1.CreateOptions{FieldManager: "kubectl-client-side-apply"}); err != nil {
		t.Fatal(err)
	}
	configMap := func(name string) (*corev1.ConfigMap, error) {
		return cs.CoreV1().ConfigMaps("demo").Get(ctx, name, metav1.GetOptions{})
	}
	installed := func(name, chartVersion string) func() error {
		return func() error {
			c, err := comps("v0-1-0").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			v, _, _ := unstructured.NestedString(c.Object, "status", "helmChartVersion")
			managed, _, _ := unstructured.NestedSlice(c.Object, "status", "managed")
			if conditionOf(c, "Ready") != "True" || v != chartVersion || len(managed) != 1 {
				return fmt.Errorf("not installed from %s yet: status %v", chartVersion, c.Object["status"])
			}
			if !slices.Contains(c.GetFinalizers(), kubemirror.Finalizer) {
				return fmt.Errorf("no finalizer: %v", c.GetFinalizers())
			}
			cm, err := configMap(name)
			if err != nil {
				return err
			}
			if cm.Data["chart"] != chartVersion {
				return fmt.Errorf("ConfigMap from chart %s", cm.Data["chart"])
			}
			return nil
		}
	}
	eventually("the cluster's instance installed", installed("fw", "0.1.0"))
	if d, _, _ := unstructured.NestedString(mustGet(t, comps("v0-1-0"), "fw").Object, "status", "digest"); !strings.HasPrefix(d, "sha256:") {
		t.Errorf("status.digest = %q, want a sha256 digest", d)
	}

	// One created through the REST API appears in the cluster, at its version, with its status.
	ts.do(t, req{method: "POST", path: "/api/v1/compositions/demo/fireworksapps", body: compositionDoc("rest", "v0-1-0", `{app: {replicas: 3}}`)}).
		want(t, http.StatusOK)
	eventually("the REST API's instance in the cluster, installed", installed("rest", "0.1.0"))

	// A new chart version adds a served version to the CRD; relabelling the instance in the cluster upgrades it.
	d := mustGet(t, defs, "fireworks")
	if err := unstructured.SetNestedField(d.Object, "0.2.0", "spec", "chart", "version"); err != nil {
		t.Fatal(err)
	}
	if _, err := defs.Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("the CRD serving v0-2-0 too", func() error {
		crd, err := dc.Resource(crdsGVR).Get(ctx, "fireworksapps.composition.krateo.io", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := servedVersions(crd); !slices.Equal(got, []string{"v0-1-0", "v0-2-0"}) {
			return fmt.Errorf("served versions %v", got)
		}
		return nil
	})
	eventually("the relabel written", func() error {
		c, err := comps("v0-2-0").Get(ctx, "fw", metav1.GetOptions{})
		if err != nil {
			return err
		}
		l := c.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		l["krateo.io/composition-version"] = "v0-2-0"
		c.SetLabels(l)
		_, err = comps("v0-2-0").Update(ctx, c, metav1.UpdateOptions{})
		return err
	})
	eventually("the relabelled instance upgraded", installed("fw", "0.2.0"))
	var stored api.ResourceRequest
	ts.do(t, req{method: "GET", path: "/api/v1/compositions/demo/fireworksapps/fw"}).want(t, http.StatusOK).decode(t, &stored)
	if stored.APIVersion != "composition.krateo.io/v0-2-0" {
		t.Errorf("stored apiVersion after the relabel = %q, want composition.krateo.io/v0-2-0", stored.APIVersion)
	}
	// The instance left at v0-1-0 keeps working there: the mirror did not move it.
	ts.do(t, req{method: "GET", path: "/api/v1/compositions/demo/fireworksapps/rest"}).want(t, http.StatusOK).decode(t, &stored)
	if stored.APIVersion != "composition.krateo.io/v0-1-0" {
		t.Errorf("the other instance's stored apiVersion = %q, want composition.krateo.io/v0-1-0", stored.APIVersion)
	}

	// An edit in the cluster of the relabelled instance (read at v0-1-0, the watched version) keeps it at v0-2-0.
	eventually("an annotation written", func() error {
		c, err := comps("v0-1-0").Get(ctx, "fw", metav1.GetOptions{})
		if err != nil {
			return err
		}
		c.SetAnnotations(map[string]string{"example.com/touched": "yes"})
		_, err = comps("v0-1-0").Update(ctx, c, metav1.UpdateOptions{})
		return err
	})
	eventually("the annotation stored, the version kept", func() error {
		var c api.ResourceRequest
		ts.do(t, req{method: "GET", path: "/api/v1/compositions/demo/fireworksapps/fw"}).want(t, http.StatusOK).decode(t, &c)
		if c.Metadata.Annotations["example.com/touched"] != "yes" {
			return errors.New("not stored yet")
		}
		if c.APIVersion != "composition.krateo.io/v0-2-0" {
			t.Fatalf("after an edit in the cluster, stored apiVersion = %q, want composition.krateo.io/v0-2-0", c.APIVersion)
		}
		return nil
	})
	eventually("still installed from 0.2.0", installed("fw", "0.2.0"))

	// krateo.io/paused set in the cluster reaches the store, where the composer honours it.
	eventually("paused written", func() error {
		c, err := comps("v0-1-0").Get(ctx, "rest", metav1.GetOptions{})
		if err != nil {
			return err
		}
		a := c.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		a["krateo.io/paused"] = "true"
		c.SetAnnotations(a)
		_, err = comps("v0-1-0").Update(ctx, c, metav1.UpdateOptions{})
		return err
	})
	eventually("paused in the store", func() error {
		var c api.ResourceRequest
		ts.do(t, req{method: "GET", path: "/api/v1/compositions/demo/fireworksapps/rest"}).want(t, http.StatusOK).decode(t, &c)
		if c.Metadata.Annotations["krateo.io/paused"] != "true" {
			return errors.New("not yet")
		}
		return nil
	})

	// A delete in the cluster uninstalls first: the ConfigMap goes, then the object, then the stored composition.
	if err := comps("v0-1-0").Delete(ctx, "fw", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("the instance uninstalled and gone", func() error {
		if _, err := comps("v0-1-0").Get(ctx, "fw", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("object still there (%v)", err)
		}
		if _, err := configMap("fw"); !apierrors.IsNotFound(err) {
			return fmt.Errorf("ConfigMap still there (%v)", err)
		}
		return nil
	})
	ts.do(t, req{method: "GET", path: "/api/v1/compositions/demo/fireworksapps/fw"}).want(t, http.StatusNotFound)

	// The definition deleted in the cluster while a composition of its type is left: refused, and shown.
	if err := defs.Delete(ctx, "fireworks", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("the definition's delete refused", func() error {
		d, err := defs.Get(ctx, "fireworks", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if r := doorstest.ConditionField(d, "Accepted", "reason"); r != "DeleteRefused" {
			return fmt.Errorf("condition Accepted reason %q, status %v", r, d.Object["status"])
		}
		if m := doorstest.ConditionField(d, "Accepted", "message"); !strings.Contains(m, "1 composition exists") {
			t.Errorf("the refusal says %q", m)
		}
		return nil
	})
	// Its last composition deleted (paused: its release is left as it is), the definition goes from the store,
	// and its type's CRD is removed.
	if err := comps("v0-1-0").Delete(ctx, "rest", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("the generated CRD removed", func() error {
		if _, err := dc.Resource(crdsGVR).Get(ctx, "fireworksapps.composition.krateo.io", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("CRD still there (%v)", err)
		}
		return nil
	})
	ts.do(t, req{method: "GET", path: "/api/v1/compositiondefinitions/krateo-system/fireworks"}).want(t, http.StatusNotFound)
	if strings.Contains(ts.logs.String(), chartPassword) {
		t.Error("the registry password is in the server log")
	}
}

func mustGet(t *testing.T, r dynamic.ResourceInterface, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := r.Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// conditionOf is the status of the condition typ of a cluster object.
var conditionOf = doorstest.Condition

func servedVersions(crd *unstructured.Unstructured) []string {
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	var out []string
	for _, v := range versions {
		if m, _ := v.(map[string]any); m["served"] == true {
			out = append(out, fmt.Sprint(m["name"]))
		}
	}
	return out
}
