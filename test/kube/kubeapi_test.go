package kube_test

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runplane/runplane/internal/executor/kubeexec/kubetest"
)

// kubectlPromise is a Kratix promise as a user would kubectl apply it: a namespaced kind Cache in group
// kubectl.runplane.test, whose configure pipeline (busybox, a Kubernetes Job) writes a file for the state store and a
// status field, and whose delete pipeline succeeds.
const kubectlPromise = `apiVersion: platform.kratix.io/v1alpha1
kind: Promise
metadata:
  name: kcache
spec:
  destinationSelectors:
    - matchLabels: {environment: kubectl}
  api:
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: caches.kubectl.runplane.test}
    spec:
      group: kubectl.runplane.test
      names: {kind: Cache, plural: caches, singular: cache}
      scope: Namespaced
      versions:
        - name: v1alpha1
          served: true
          storage: true
          schema:
            openAPIV3Schema:
              type: object
              properties:
                spec: {type: object, properties: {size: {type: string, default: small}}}
  workflows:
    resource:
      configure:
        - apiVersion: platform.kratix.io/v1alpha1
          kind: Pipeline
          metadata: {name: render}
          spec:
            containers:
              - name: render
                image: BUSYBOX
                command:
                  - sh
                  - -c
                  - |
                    set -e
                    printf 'kind: Cache\nname: %s\n' "$KRATIX_OBJECT_NAME" > "$RUNPLANE_OUTPUT_DIR/cache.yaml"
                    printf 'endpoint: %s:6379\n' "$KRATIX_OBJECT_NAME" > "$RUNPLANE_METADATA_DIR/status.yaml"
      delete:
        - apiVersion: platform.kratix.io/v1alpha1
          kind: Pipeline
          metadata: {name: teardown}
          spec:
            containers:
              - {name: teardown, image: BUSYBOX, command: [sh, -c, 'test "$KRATIX_WORKFLOW_ACTION" = delete']}
`

// TestChartKubectlPromise installs the chart with kubeAPI.enabled (its CRDs from crds/, the server's ClusterRole,
// promiseGroups naming the promise's group) and drives it with the real kubectl alone: a directory state store on
// the server's volume, a destination, a Kratix promise and a request applied with kubectl apply reach their
// completed status (read with kubectl get) with the request's file in the state store; kubectl delete of the
// request runs its delete workflow and releases the finalizer, and of the promise removes its CRD.
func TestChartKubectlPromise(t *testing.T) {
	e := needCluster(t)
	h := needHelm(t)
	kubectl := needKubectl(t)
	ns := e.Namespace(t)
	const release, fullname = "rpk", "rpk-runplane"
	class, dataDir := e.hostPathVolume(t, ns, fullname)
	colon := strings.LastIndex(e.Image, ":")
	values := installValues(e.Image[:colon], e.Image[colon+1:], class, e.Busybox)
	values["kubeAPI"] = map[string]any{"enabled": true, "promiseGroups": []string{"kubectl.runplane.test"}}
	valuesFile := writeValues(t, values)
	kc := kubectlCLI{t: t, path: kubectl, timeout: time.Minute}
	k, apply, getJSON := kc.run, kc.apply, kc.getJSON
	t.Cleanup(func() {
		if t.Failed() {
			dumpNamespace(t, kubectl, ns)
			out, err := k("get", "promises,destinations,directorystatestores,crd", "-o", "wide")
			t.Logf("cluster-scoped objects (%v):\n%s", err, out)
			out, err = k("logs", "deployment/"+fullname, "-n", ns, "--tail=200")
			t.Logf("the server's log (%v):\n%s", err, out)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if _, err := h.run(ctx, "uninstall", release, "--namespace", ns, "--wait", "--timeout", "2m"); err != nil && !strings.Contains(err.Error(), "not found") {
			t.Errorf("uninstall: %v", err)
		}
		// Whatever the server left with its finalizer goes with it (a failed test), then the CRDs helm installed.
		for _, obj := range [][]string{{"caches.kubectl.runplane.test", "web", "-n", ns}, {"promise", "kcache"},
			{"destination", "kubectl-dev"}, {"directorystatestore", "kubectl-state"}} {
			_, _ = k(append([]string{"patch", "--type", "merge", "-p", `{"metadata":{"finalizers":null}}`}, obj...)...)
			_, _ = k(append([]string{"delete", "--ignore-not-found", "--wait=false"}, obj...)...)
		}
		kubetest.WaitFor(t, 2*time.Minute, "the server's pods to be gone", func() bool {
			pods, err := e.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + release})
			return err == nil && len(pods.Items) == 0
		})
	})
	if _, err := h.run(t.Context(), "install", release, chartDir, "--namespace", ns, "--values", valuesFile, "--wait", "--timeout", "5m"); err != nil {
		t.Fatal(err)
	}
	// This cluster has no DNS: pipelines reach the server at its Service's address.
	svc, err := e.Client.CoreV1().Services(ns).Get(t.Context(), fullname, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.run(t.Context(), "upgrade", release, chartDir, "--namespace", ns, "--reuse-values",
		"--set", "advertiseURL=http://"+svc.Spec.ClusterIP+":8080", "--wait", "--timeout", "5m"); err != nil {
		t.Fatal(err)
	}
	for _, crd := range []string{"promises.platform.kratix.io", "destinations.platform.kratix.io",
		"gitstatestores.platform.kratix.io", "directorystatestores.platform.runplane.dev"} {
		if getJSON("crd", crd) == nil {
			t.Errorf("helm install did not install the CRD %s", crd)
		}
	}

	apply("apiVersion: platform.runplane.dev/v1alpha1\nkind: DirectoryStateStore\nmetadata: {name: kubectl-state}\nspec: {path: /data/state}\n")
	apply("apiVersion: platform.kratix.io/v1alpha1\nkind: Destination\nmetadata:\n  name: kubectl-dev\n  labels: {environment: kubectl}\nspec:\n  path: dev\n  stateStoreRef: {kind: DirectoryStateStore, name: kubectl-state}\n")
	kubetest.WaitFor(t, 2*time.Minute, "the destination Ready", func() bool {
		return statusCondition(getJSON("destination", "kubectl-dev"), "Ready") == "True"
	})
	apply(strings.ReplaceAll(kubectlPromise, "BUSYBOX", e.Busybox))
	kubetest.WaitFor(t, 2*time.Minute, "the promise Available", func() bool {
		st, _ := getJSON("promise", "kcache")["status"].(map[string]any)
		return st["status"] == "Available"
	})
	kubetest.WaitFor(t, 2*time.Minute, "the promise's kind served", func() bool {
		_, err := k("get", "caches.kubectl.runplane.test", "-n", ns)
		return err == nil
	})
	apply(fmt.Sprintf("apiVersion: kubectl.runplane.test/v1alpha1\nkind: Cache\nmetadata: {name: web, namespace: %s}\nspec: {size: large}\n", ns))
	var cache map[string]any
	kubetest.WaitFor(t, 4*time.Minute, "the request ConfigureWorkflowCompleted", func() bool {
		cache = getJSON("caches.kubectl.runplane.test", "web", "-n", ns)
		return statusCondition(cache, "ConfigureWorkflowCompleted") == "True"
	})
	if st, _ := cache["status"].(map[string]any); st["endpoint"] != "web:6379" {
		t.Errorf("status.endpoint = %v, want web:6379 (status %v)", st["endpoint"], st)
	}
	files := stateFiles(t, filepath.Join(dataDir, "state"), "cache.yaml")
	if len(files) != 1 || !strings.Contains(files[0], filepath.Join("dev", "resources", ns, "kcache", "web")) {
		t.Fatalf("cache.yaml in the state store: %v, want one under dev/resources/%s/kcache/web", files, ns)
	}

	if _, err := k("delete", "caches.kubectl.runplane.test", "web", "-n", ns, "--timeout", "3m"); err != nil {
		t.Fatal(err)
	}
	if getJSON("caches.kubectl.runplane.test", "web", "-n", ns) != nil {
		t.Error("the request is still there after kubectl delete returned")
	}
	if left := stateFiles(t, filepath.Join(dataDir, "state"), "cache.yaml"); len(left) != 0 {
		t.Errorf("after the request's deletion the state store holds %v", left)
	}
	if _, err := k("delete", "promise", "kcache", "--timeout", "2m"); err != nil {
		t.Fatal(err)
	}
	kubetest.WaitFor(t, 2*time.Minute, "the promise's CRD removed", func() bool {
		return getJSON("crd", "caches.kubectl.runplane.test") == nil
	})
	for _, obj := range [][]string{{"destination", "kubectl-dev"}, {"directorystatestore", "kubectl-state"}} {
		if _, err := k("delete", obj[0], obj[1], "--timeout", "2m"); err != nil {
			t.Error(err)
		}
	}
}

// statusCondition is the status of the condition typ in an object's status.conditions ("" if none).
func statusCondition(obj map[string]any, typ string) string {
	st, _ := obj["status"].(map[string]any)
	s, _ := condition(st, typ)
	return s
}

// stateFiles lists the files named name under dir.
func stateFiles(t *testing.T, dir, name string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == name {
			out = append(out, p)
		}
		return nil
	})
	return out
}
