package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/kubetest/apiserver"
)

// TestGitStoreSecretInCluster: a server with a cluster (here --kubeconfig and --install-crds, against an API server
// of the test's own) reads a GitStateStore's secretRef from the Kubernetes Secret it names, not from the runner of
// that name: a request's file is pushed with the Secret's username and password, which shows in no answer.
func TestGitStoreSecretInCluster(t *testing.T) {
	kube := apiserver.Start(t)
	ctx := t.Context()
	const ns, password = "platform", "cluster-Secret-pw-7"
	cs := kube.Clientset(t, ns)
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "git-creds"},
		Data: map[string][]byte{"username": []byte("kratix"), "password": []byte(password)}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(t.TempDir(), "state.git")
	for _, args := range [][]string{{"init", "-q", "--bare", "-b", "main", bare}, {"-C", bare, "config", "http.receivepack", "true"}} {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	url := gittest.ServePushHTTP(t, bare, "kratix", password)

	ts := startServer(t, func(c *Config) { c.Kubeconfig, c.InstallCRDs = kube.Kubeconfig, true })
	// A runner of the Secret's name, with another password: with a cluster it plays no part.
	ts.do(t, req{method: "POST", path: "/api/v1/runners", json: api.Runner{Name: "git-creds", GitURL: "https://example.com/x.git",
		Secret: map[string]string{"username": "kratix", "password": "not-this-one"}}}).want(t, http.StatusOK)
	ts.do(t, req{method: "POST", path: "/api/v1/state_stores", body: fmt.Sprintf(`{"apiVersion":"platform.kratix.io/v1alpha1",
		"kind":"GitStateStore","metadata":{"name":"remote"},"spec":{"url":%q,"secretRef":{"name":"git-creds","namespace":%q}}}`, url, ns)}).
		want(t, http.StatusOK)
	ts.do(t, req{method: "POST", path: "/api/v1/destinations", json: map[string]any{"name": "dev", "labels": map[string]string{"environment": "dev"},
		"stateStoreRef": map[string]string{"kind": "GitStateStore", "name": "remote"}}}).want(t, http.StatusOK)
	ts.do(t, req{method: "POST", path: "/api/v1/promises", body: cachePromise}).want(t, http.StatusOK)
	ts.do(t, req{method: "POST", path: "/api/v1/resources/cache", body: "apiVersion: marketplace.example.dev/v1alpha1\nkind: Cache\nmetadata:\n  name: web\n  namespace: team-a\nspec:\n  size: large\n"}).
		want(t, http.StatusOK)
	path := "/api/v1/resources/cache/web?namespace=team-a"
	rr := ts.waitRequest(t, path, "configure completes", func(st map[string]any) bool {
		return conditionIs(st, "ConfigureWorkflowCompleted", "True") || conditionIs(st, "WorksSucceeded", "False")
	})
	var st map[string]any
	json.Unmarshal(rr.Status, &st)
	if !conditionIs(st, "ConfigureWorkflowCompleted", "True") {
		t.Fatalf("status %s, want the file pushed with the Secret's password", rr.Status)
	}
	const file = "dev/resources/team-a/cache/web/render/5058f/deployment.yaml"
	out, err := exec.Command("git", "-C", bare, "cat-file", "blob", "main:"+file).CombinedOutput()
	if err != nil || string(out) != "kind: Deployment\nname: web\nsize: large\n" {
		t.Errorf("%s in the repository = %q, %v", file, out, err)
	}
	if strings.Contains(string(rr.Status), password) {
		t.Errorf("the request's status holds the password: %s", rr.Status)
	}
	// The store is in the cluster too, naming its Secret (and the server stops cleanly once its mirror runs).
	apiserver.Eventually(ctx, t, time.Minute, func() error {
		b, err := cs.CoreV1().RESTClient().Get().AbsPath("/apis/platform.kratix.io/v1alpha1/gitstatestores/remote").DoRaw(ctx)
		if err == nil && !strings.Contains(string(b), `"secretRef":{"name":"git-creds","namespace":"platform"}`) {
			err = fmt.Errorf("GitStateStore remote in the cluster: %s", b)
		}
		return err
	})
}
