package controller_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/kubesecret"
	"github.com/runplane/runplane/internal/kubetest/apiserver"
	"github.com/runplane/runplane/internal/platform/controller"
)

// TestGitStoreKubeSecret: with a cluster, a GitStateStore's secretRef names a Kubernetes Secret (Kratix's form),
// read at each write. While the Secret or its password is missing, the request's WorksSucceeded condition says
// which Secret and key, and the write is retried; once the Secret is mended the output is pushed with its
// username and password, and the condition turns True. No status ever holds the password.
func TestGitStoreKubeSecret(t *testing.T) {
	kube := apiserver.Start(t)
	ctx := t.Context()
	const ns, password = "kratix-platform-system", "kube-s3cret-Passw0rd"
	cs := kube.Clientset(t, ns)

	e := newEnv(t, false)
	bare := filepath.Join(t.TempDir(), "remote.git")
	gitRun(t, "", "init", "-q", "--bare", "-b", "main", bare)
	gitRun(t, bare, "config", "http.receivepack", "true")
	url := gittest.ServePushHTTP(t, bare, "bot", password)
	// A runner of the Secret's name holds a wrong password: with a cluster it must not be read.
	if err := e.st.CreateRunner(ctx, api.Runner{Name: "git-creds", GitURL: "file:///nonexistent.git",
		Secret: map[string]string{"username": "bot", "password": "not-this-one"}}); err != nil {
		t.Fatal(err)
	}
	s := api.StateStore{Kind: api.KindGitStateStore, Name: "remote", URL: url,
		SecretRef: &api.SecretReference{Name: "git-creds", Namespace: ns}}
	s.Default()
	if err := e.st.CreateStateStore(ctx, s); err != nil {
		t.Fatal(err)
	}
	d := api.Destination{Name: "remote-dev", Labels: map[string]string{"environment": "dev", "store": "remote"},
		StateStoreRef: api.StateStoreRef{Kind: api.KindGitStateStore, Name: "remote"}}
	d.Default()
	if err := e.st.CreateDestination(ctx, d); err != nil {
		t.Fatal(err)
	}
	c, _ := e.controller(t, controller.Options{Secrets: kubesecret.New(cs.CoreV1())})
	render := e.pipeline("render", `echo "name: $KRATIX_OBJECT_NAME" > "$RUNPLANE_OUTPUT_DIR/cache.yaml"
printf -- '- matchLabels: {store: remote}\n' > "$RUNPLANE_METADATA_DIR/destination-selectors.yaml"`)
	p := e.promise(t, api.PromiseWorkflows{Resource: api.WorkflowActions{Configure: []api.Pipeline{render}}})
	e.request(t, c, p, "cache", `{}`, nil)

	failing := func(want string) func(map[string]any) bool {
		return func(st map[string]any) bool {
			status, reason, msg := condition(st, "WorksSucceeded")
			return status == "False" && reason == "WorksFailing" && strings.Contains(msg, want)
		}
	}
	e.waitFor(t, "cache", "WorksSucceeded False naming the missing Secret", failing("secret "+ns+"/git-creds not found"))
	if completed(e.waitFor(t, "cache", "", func(map[string]any) bool { return true })) {
		t.Fatal("the request completed while its output could not be written")
	}

	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "git-creds"}, Data: map[string][]byte{"username": []byte("bot")}}
	sec, err := cs.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, "cache", "WorksSucceeded False naming the missing key", failing(`secret `+ns+`/git-creds has no key "password"`))

	sec.Data["password"] = []byte(password)
	if _, err := cs.CoreV1().Secrets(ns).Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	st := e.waitFor(t, "cache", "configure completes once the Secret holds the password", completed)
	if status, _, msg := condition(st, "WorksSucceeded"); status != "True" {
		t.Errorf("WorksSucceeded = %s %q once written, want True", status, msg)
	}
	outs := outputsOf(st)
	if len(outs) != 1 || outs[0].Destination != "remote-dev" || len(outs[0].Version) != 40 {
		t.Fatalf("outputs = %+v, want the file pushed to remote-dev", outs)
	}
	if got := gitRun(t, bare, "cat-file", "blob", "main:"+outs[0].Files[0]); got != "name: cache\n" {
		t.Errorf("%s = %q", outs[0].Files[0], got)
	}
	r, _, _ := e.get(t, "cache")
	if bytes.Contains(r.Status, []byte(password)) {
		t.Errorf("the request's status holds the password: %s", r.Status)
	}
}

// TestGitStoreKubeSecretSSH: a GitStateStore with authMethod ssh pushes with the sshPrivateKey and knownHosts of the
// Kubernetes Secret its secretRef names (Kratix's keys); a Secret without sshPrivateKey is named in the request's
// status, and no status holds the key.
func TestGitStoreKubeSecretSSH(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("no ssh client")
	}
	kube := apiserver.Start(t)
	ctx := t.Context()
	cs, err := kubernetes.NewForConfig(kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, false)
	bare := gittest.NewRepo(t, map[string]string{"README.md": "state\n"})
	key, known, url := gittest.ServeSSH(t, bare)
	// The API server makes namespace default as it starts, maybe not yet.
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "git-ssh"}, Data: map[string][]byte{"knownHosts": []byte(known)}}
	if sec, err = cs.CoreV1().Secrets("default").Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// No namespace: Kratix's default, "default".
	s := api.StateStore{Kind: api.KindGitStateStore, Name: "remote", URL: url, AuthMethod: api.AuthSSH,
		SecretRef: &api.SecretReference{Name: "git-ssh"}}
	s.Default()
	s.SecretRef.Namespace = "" // as a store written before Default filled it in: the controller's default is Kratix's
	if err := e.st.CreateStateStore(ctx, s); err != nil {
		t.Fatal(err)
	}
	d := api.Destination{Name: "remote-dev", Labels: map[string]string{"environment": "dev", "store": "remote"},
		StateStoreRef: api.StateStoreRef{Kind: api.KindGitStateStore, Name: "remote"}}
	d.Default()
	if err := e.st.CreateDestination(ctx, d); err != nil {
		t.Fatal(err)
	}
	c, _ := e.controller(t, controller.Options{Secrets: kubesecret.New(cs.CoreV1())})
	render := e.pipeline("render", `echo "name: $KRATIX_OBJECT_NAME" > "$RUNPLANE_OUTPUT_DIR/cache.yaml"
printf -- '- matchLabels: {store: remote}\n' > "$RUNPLANE_METADATA_DIR/destination-selectors.yaml"`)
	p := e.promise(t, api.PromiseWorkflows{Resource: api.WorkflowActions{Configure: []api.Pipeline{render}}})
	e.request(t, c, p, "cache", `{}`, nil)
	e.waitFor(t, "cache", "WorksSucceeded False naming the missing key", func(st map[string]any) bool {
		status, _, msg := condition(st, "WorksSucceeded")
		return status == "False" && strings.Contains(msg, `secret default/git-ssh has no key "sshPrivateKey"`)
	})

	sec.Data["sshPrivateKey"] = []byte(key)
	if _, err := cs.CoreV1().Secrets("default").Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	st := e.waitFor(t, "cache", "configure completes once the Secret holds the key", completed)
	outs := outputsOf(st)
	if len(outs) != 1 || len(outs[0].Version) != 40 {
		t.Fatalf("outputs = %+v, want the file pushed over ssh", outs)
	}
	if got := gitRun(t, bare, "cat-file", "blob", "main:"+outs[0].Files[0]); got != "name: cache\n" {
		t.Errorf("%s = %q", outs[0].Files[0], got)
	}
	r, _, _ := e.get(t, "cache")
	if bytes.Contains(r.Status, []byte("PRIVATE KEY")) {
		t.Errorf("the request's status holds the key: %s", r.Status)
	}
}
