package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/kubetest/apiserver"
	"github.com/runplane/runplane/internal/platform/chart/helmchart"
)

// TestAccessReusesAGrant (a private API server): a second Grant of the same kinds reuses the first's
// ServiceAccount, rules and token; new kinds, a ServiceAccount deleted and made again meantime, Forget and age each write
// everything again, and the kubeconfig given then works. It fails when every Grant writes everything (the token
// differs) or when a reused grant outlives its ServiceAccount (the token no longer authenticates).
func TestAccessReusesAGrant(t *testing.T) {
	kube := apiserver.Start(t)
	ctx := t.Context()
	cs := kube.Clientset(t, "demo")
	a, err := NewAccess(kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	a.now = func() time.Time { return now }
	cm := [][2]string{{"v1", "ConfigMap"}}
	grant := func(kinds [][2]string) []byte {
		t.Helper()
		kc, err := a.Grant(ctx, "demo", "krateo-x", kinds)
		if err != nil {
			t.Fatalf("Grant: %v", err)
		}
		return kc
	}
	// works says whether kc's identity may list the ConfigMaps of demo.
	works := func(kc []byte) error {
		rc, err := clientcmd.RESTConfigFromKubeConfig(kc)
		if err != nil {
			return err
		}
		c, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return err
		}
		_, err = c.CoreV1().ConfigMaps("demo").List(ctx, metav1.ListOptions{})
		return err
	}
	first := grant(cm)
	if again := grant(cm); !bytes.Equal(again, first) {
		t.Errorf("a second Grant of the same kinds made a new kubeconfig")
	}
	if again := grant(nil); !bytes.Equal(again, first) {
		t.Errorf("a Grant keeping the rules (uninstall) made a new kubeconfig")
	}
	more := grant(append(cm, [2]string{"apps/v1", "Deployment"}))
	if bytes.Equal(more, first) {
		t.Errorf("a Grant of more kinds reused the last")
	}
	role, err := cs.RbacV1().Roles("demo").Get(ctx, "krateo-x", metav1.GetOptions{})
	if err != nil || len(role.Rules) != 3 || role.Rules[2].Resources[0] != "deployments" {
		t.Errorf("Role after a Grant of more kinds = %+v, %v; want secrets, configmaps, deployments", role, err)
	}
	// The ServiceAccount deleted and made again (a token is bound to the one it was made for).
	if err := cs.CoreV1().ServiceAccounts("demo").Delete(ctx, "krateo-x", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ServiceAccounts("demo").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "krateo-x"}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	recreated := grant(append(cm, [2]string{"apps/v1", "Deployment"}))
	if bytes.Equal(recreated, more) {
		t.Errorf("a Grant after the ServiceAccount was made again reused the old one's token")
	}
	if err := works(recreated); err != nil {
		t.Errorf("the kubeconfig of a ServiceAccount made again: %v", err)
	}
	a.Forget("demo", "krateo-x")
	forgotten := grant(append(cm, [2]string{"apps/v1", "Deployment"}))
	if bytes.Equal(forgotten, recreated) {
		t.Errorf("a Grant after Forget reused the last")
	}
	now = now.Add(grantReuse)
	if old := grant(append(cm, [2]string{"apps/v1", "Deployment"})); bytes.Equal(old, forgotten) {
		t.Errorf("a Grant %v later reused the last", grantReuse)
	}
}

// TestStepWithDiscovery (a private API server): a release installed with the server's Discovery (no discovery,
// no client-side OpenAPI validation in the step) is installed as before, and an object with a field its kind does
// not have still fails the install (the API server's strict validation), naming the field.
func TestStepWithDiscovery(t *testing.T) {
	kube := apiserver.Start(t)
	ctx := t.Context()
	cs := kube.Clientset(t, "demo")
	a, err := NewAccess(kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	kinds := [][2]string{{"v1", "ConfigMap"}}
	kc, err := a.Grant(ctx, "demo", "krateo-x", kinds)
	if err != nil {
		t.Fatal(err)
	}
	b, err := a.Discovery(ctx, kinds)
	if err != nil {
		t.Fatal(err)
	}
	var d Discovery
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.KubeVersion.Major != "1" || !strings.Contains(strings.Join(d.APIVersions, " "), "apps/v1/Deployment") || len(d.Groups) != 1 ||
		d.Groups[0].Group.Name != "" {
		t.Fatalf("Discovery = %s; want the server's version, every API version, and the core group alone", b)
	}
	kcFile := t.TempDir() + "/kubeconfig"
	writeFile(t, kcFile, kc)
	opts := Options{Kubeconfig: kcFile, KrateoNamespace: "krateo-system", Discovery: &d}
	comp := func(name string) helmchart.Composition {
		return helmchart.Composition{APIVersion: "composition.krateo.io/v0-1-0", Kind: "Cm", Resource: "cms",
			Metadata: api.ObjectMeta{Name: name, Namespace: "demo", UID: "u-" + name}, Spec: json.RawMessage(`{}`)}
	}
	good := chartArchive(t, "data:\n  a: b\n")
	if _, err := Run(ctx, Install, good, comp("good"), opts); err != nil {
		t.Fatalf("install with the server's discovery: %v", err)
	}
	if got, err := cs.CoreV1().ConfigMaps("demo").Get(ctx, "good", metav1.GetOptions{}); err != nil || got.Data["a"] != "b" ||
		got.Labels["krateo.io/composition-name"] != "good" {
		t.Errorf("the release's ConfigMap = %+v, %v", got, err)
	}
	bad := chartArchive(t, "data:\n  a: b\nnotAField: x\n")
	_, err = Run(ctx, Install, bad, comp("bad"), opts)
	if err == nil || !strings.Contains(err.Error(), "notAField") {
		t.Errorf("install of an object with an unknown field = %v, want an error naming it", err)
	}
}

// chartArchive is a chart "cm" whose one template is a ConfigMap named after the release, ending with body.
func chartArchive(t *testing.T, body string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range map[string]string{
		"cm/Chart.yaml":         "apiVersion: v2\nname: cm\nversion: 0.1.0\n",
		"cm/values.yaml":        "{}\n",
		"cm/templates/cm.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n" + body,
		"cm/values.schema.json": `{"type": "object"}`,
	} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
