package kube_test

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runplane/runplane/internal/executor/kubeexec/kubetest"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/server"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
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

// TestPromiseOnKubernetes runs a promise from create to files in a state store and back to deletion, on the
// cluster, on both stores: SQLite with a directory state store, PostgreSQL with a git state store whose secretRef
// names a Kubernetes Secret (Kratix's form: basic auth, username and password). The request's configure pipeline
// runs as the service account the server made for it, whose token reads the ConfigMap its rbac.permissions grant
// and is refused another; the delete pipeline, without rbac, has no token; the service account, Role and
// RoleBinding go with the promise.
func TestPromiseOnKubernetes(t *testing.T) {
	e := needCluster(t)
	t.Run("sqlite", func(t *testing.T) { promiseOnKubernetes(t, e, nil, false) })
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.NewDatabase(t)
		promiseOnKubernetes(t, e, func(c *server.Config) { c.Store = dsn }, true)
	})
}

// promiseOnKubernetes is TestPromiseOnKubernetes on a server edit configures, with a git state store or a
// directory.
func promiseOnKubernetes(t *testing.T, e env, edit func(*server.Config), git bool) {
	ns := e.Namespace(t)
	s := e.newServer(t, ns, edit)
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
	var files func() map[string]string // path → content of each file the state store holds
	if git {
		files = gitStateStore(t, e, ns, call)
	} else {
		files = directoryStateStore(t, call)
	}
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
	written, _ := find(files(), "access.yaml")
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
	if _, p := find(files(), "access.yaml"); p != "" {
		t.Errorf("after the request's deletion the state store still holds %s", p)
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

// directoryStateStore creates state store "local" (a directory) and destination "dev" in it, and returns what
// reads the directory.
func directoryStateStore(t *testing.T, call func(method, path, body string, want int) []byte) func() map[string]string {
	state := filepath.Join(t.TempDir(), "state")
	call("POST", "/api/v1/state_stores", fmt.Sprintf(`{"kind":"DirectoryStateStore","name":"local","path":%q}`, state), 200)
	call("POST", "/api/v1/destinations", `{"name":"dev","labels":{"environment":"dev"},"stateStoreRef":{"kind":"DirectoryStateStore","name":"local"}}`, 200)
	return func() map[string]string {
		out := map[string]string{}
		filepath.WalkDir(state, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(p)
				out[p] = string(b)
			}
			return nil
		})
		return out
	}
}

// gitStateStore serves a git repository that takes pushes with basic auth only, puts its username and password in
// a Kubernetes Secret of namespace ns, creates GitStateStore "remote" naming the Secret in its secretRef (as
// Kratix's GitStateStore does) and destination "dev" in it, and returns what reads the repository's branch main.
func gitStateStore(t *testing.T, e env, ns string, call func(method, path, body string, want int) []byte) func() map[string]string {
	const password = "git-Secret-passw0rd"
	bare := filepath.Join(t.TempDir(), "state.git")
	gitCmd(t, "", "init", "-q", "--bare", "-b", "main", bare)
	gitCmd(t, bare, "config", "http.receivepack", "true")
	url := gittest.ServePushHTTP(t, bare, "kratix", password)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "git-creds"},
		Data: map[string][]byte{"username": []byte("kratix"), "password": []byte(password)}}
	if _, err := e.Client.CoreV1().Secrets(ns).Create(t.Context(), secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	call("POST", "/api/v1/state_stores", fmt.Sprintf(`{"apiVersion":"platform.kratix.io/v1alpha1","kind":"GitStateStore",
		"metadata":{"name":"remote"},"spec":{"url":%q,"branch":"main","secretRef":{"name":"git-creds","namespace":%q}}}`, url, ns), 200)
	call("POST", "/api/v1/destinations", `{"name":"dev","labels":{"environment":"dev"},"stateStoreRef":{"kind":"GitStateStore","name":"remote"}}`, 200)
	return func() map[string]string {
		out := map[string]string{}
		if gitCmd(t, bare, "for-each-ref", "refs/heads/main") == "" {
			return out // nothing pushed yet
		}
		for _, p := range strings.Fields(gitCmd(t, bare, "ls-tree", "-r", "--name-only", "main")) {
			out[p] = gitCmd(t, bare, "cat-file", "blob", "main:"+p)
		}
		return out
	}
}

// find returns the content and path of a file named name in files ("" if none).
func find(files map[string]string, name string) (content, path string) {
	for p, c := range files {
		if filepath.Base(p) == name {
			return c, p
		}
	}
	return "", ""
}

// gitCmd runs git in dir and returns its output.
func gitCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
