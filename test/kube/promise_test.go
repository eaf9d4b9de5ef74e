package kube_test

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runplane/runplane/internal/executor/kubeexec/kubetest"
)

// accessPromise's configure pipeline asks, with rbac.permissions, to read one ConfigMap of the jobs' namespace,
// and reads it and another with its service account's token (busybox wget against the API), recording both
// answers in the request's status and in a file for the state store; its delete pipeline has no rbac.
const accessPromise = `apiVersion: platform.kratix.io/v1alpha1
kind: Promise
metadata:
  name: vault
spec:
  destinationSelectors:
    - matchLabels: {environment: dev}
  api:
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: vaults.marketplace.example.dev}
    spec:
      group: marketplace.example.dev
      names: {kind: Vault, plural: vaults, singular: vault}
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
          metadata: {name: reader}
          spec:
            rbac:
              permissions:
                - apiGroups: [""]
                  resources: [configmaps]
                  resourceNames: [granted]
                  verbs: [get]
            containers:
              - name: read
                image: BUSYBOX
                command:
                  - sh
                  - -c
                  - |
                    sa=/var/run/secrets/kubernetes.io/serviceaccount
                    api="https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/$(cat $sa/namespace)/configmaps"
                    get() {
                      if wget -q -O /tmp/$1 --no-check-certificate --header "Authorization: Bearer $(cat $sa/token)" "$api/$1" 2>/tmp/err; then
                        echo allowed
                      else
                        echo "refused $(tr -d '\n' </tmp/err)"
                      fi
                    }
                    g=$(get granted); o=$(get other)
                    printf 'granted: "%s"\nother: "%s"\n' "$g" "$o" > "$RUNPLANE_METADATA_DIR/status.yaml"
                    printf 'kind: Access\ngranted: "%s"\nother: "%s"\n' "$g" "$o" > "$RUNPLANE_OUTPUT_DIR/access.yaml"
      delete:
        - apiVersion: platform.kratix.io/v1alpha1
          kind: Pipeline
          metadata: {name: teardown}
          spec:
            containers:
              - name: teardown
                image: BUSYBOX
                command: [sh, -c, 'test ! -e /var/run/secrets/kubernetes.io/serviceaccount/token']
`

// TestPromiseOnKubernetes runs a promise from create to files in a directory state store and back to deletion, on
// the cluster: the request's configure pipeline runs as the service account the server made for it, whose token
// reads the ConfigMap its rbac.permissions grant and is refused another; the delete pipeline, without rbac, has no
// token; the service account, Role and RoleBinding go with the promise.
func TestPromiseOnKubernetes(t *testing.T) {
	e := needCluster(t)
	ns := e.Namespace(t)
	s := e.newServer(t, ns, nil)
	c := s.client(t)
	for _, name := range []string{"granted", "other"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"v": name}}
		if _, err := e.Client.CoreV1().ConfigMaps(ns).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	call := func(method, path, body string, want int) []byte {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, s.url+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+c.Token())
		if strings.HasPrefix(body, "{") {
			req.Header.Set("Content-Type", "application/json")
		} else if body != "" {
			req.Header.Set("Content-Type", "application/yaml")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s; want %d", method, path, resp.StatusCode, b, want)
		}
		return b
	}
	state := filepath.Join(t.TempDir(), "state")
	call("POST", "/api/v1/state_stores", fmt.Sprintf(`{"kind":"DirectoryStateStore","name":"local","path":%q}`, state), 200)
	call("POST", "/api/v1/destinations", `{"name":"dev","labels":{"environment":"dev"},"stateStoreRef":{"kind":"DirectoryStateStore","name":"local"}}`, 200)
	call("POST", "/api/v1/promises", strings.ReplaceAll(accessPromise, "BUSYBOX", e.Busybox), 200)
	const sa = "vault-resource-configure-reader"
	if _, err := e.Client.CoreV1().ServiceAccounts(ns).Get(t.Context(), sa, metav1.GetOptions{}); err != nil {
		t.Errorf("the pipeline's service account after the promise was saved: %v", err)
	}
	call("POST", "/api/v1/resources/vault", "apiVersion: marketplace.example.dev/v1alpha1\nkind: Vault\nmetadata:\n  name: v1\n  namespace: default\nspec:\n  size: large\n", 200)

	path := "/api/v1/resources/vault/v1?namespace=default"
	var st map[string]any
	kubetest.WaitFor(t, 3*time.Minute, "the configure pipeline", func() bool {
		var rr struct{ Status map[string]any }
		json.Unmarshal(call("GET", path, "", 200), &rr)
		st = rr.Status
		status, reason := condition(st, "ConfigureWorkflowCompleted")
		return status == "True" || status == "False" && reason != "PipelinesInProgress"
	})
	if got, _ := condition(st, "ConfigureWorkflowCompleted"); got != "True" {
		t.Fatalf("ConfigureWorkflowCompleted = %s; status %v; runs %s", got, st, call("GET", "/api/v1/runs", "", 200))
	}
	if st["granted"] != "allowed" || !strings.Contains(fmt.Sprint(st["other"]), "403") {
		t.Errorf("the pipeline's reads: granted %q, other %q; want allowed, refused with 403", st["granted"], st["other"])
	}
	var written string
	filepath.WalkDir(state, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "access.yaml" {
			b, _ := os.ReadFile(p)
			written = string(b)
		}
		return nil
	})
	if !strings.Contains(written, `granted: "allowed"`) {
		t.Errorf("access.yaml in the state store = %q, want the pipeline's output", written)
	}
	pods, err := e.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Spec.ServiceAccountName == sa && (p.Spec.AutomountServiceAccountToken == nil || !*p.Spec.AutomountServiceAccountToken) {
			t.Errorf("pod %s runs as %s without its token", p.Name, sa)
		}
	}

	call("DELETE", path, "", http.StatusAccepted)
	kubetest.WaitFor(t, 3*time.Minute, "the request's deletion", func() bool {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", s.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+c.Token())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusNotFound
	})
	written = ""
	filepath.WalkDir(state, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "access.yaml" {
			written = p
		}
		return nil
	})
	if written != "" {
		t.Errorf("after the request's deletion the state store still holds %s", written)
	}

	call("DELETE", "/api/v1/promises/vault", "", 200)
	kubetest.WaitFor(t, time.Minute, "the pipeline's service account, Role and RoleBinding to go", func() bool {
		_, e1 := e.Client.CoreV1().ServiceAccounts(ns).Get(t.Context(), sa, metav1.GetOptions{})
		_, e2 := e.Client.RbacV1().Roles(ns).Get(t.Context(), sa, metav1.GetOptions{})
		_, e3 := e.Client.RbacV1().RoleBindings(ns).Get(t.Context(), sa, metav1.GetOptions{})
		return apierrors.IsNotFound(e1) && apierrors.IsNotFound(e2) && apierrors.IsNotFound(e3)
	})
}

// condition is the status and reason of the condition typ in a Kratix status ("" if none).
func condition(st map[string]any, typ string) (status, reason string) {
	conds, _ := st["conditions"].([]any)
	for _, c := range conds {
		if m, _ := c.(map[string]any); m["type"] == typ {
			status, _ = m["status"].(string)
			reason, _ = m["reason"].(string)
			return status, reason
		}
	}
	return "", ""
}
