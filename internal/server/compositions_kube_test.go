package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor/local"
	"github.com/runplane/runplane/internal/kubetest/apiserver"
	"github.com/runplane/runplane/internal/platform/chart"
)

// kubeStatus is a composition's status as the test reads it.
func compositionStatus(t *testing.T, ts *testServer, path string) (api.ResourceRequest, chart.CompositionStatus, int) {
	t.Helper()
	res := ts.do(t, req{method: "GET", path: path})
	var c api.ResourceRequest
	var st chart.CompositionStatus
	if res.status == http.StatusOK {
		res.decode(t, &c)
		if err := json.Unmarshal(c.Status, &st); err != nil {
			t.Fatalf("status of %s: %v", path, err)
		}
	}
	return c, st, res.status
}

// jobLog is the log of the job of run's step.
func jobLog(t *testing.T, ts *testServer, run string) string {
	t.Helper()
	var r api.Run
	ts.do(t, req{method: "GET", path: "/api/v1/runs/" + run}).want(t, http.StatusOK).decode(t, &r)
	if len(r.Steps) == 0 || r.Steps[0].Job == "" {
		return "(no job)"
	}
	return string(ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + r.Steps[0].Job + "/log"}).body)
}

func condition(st chart.CompositionStatus, typ string) api.Condition {
	for _, c := range st.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return api.Condition{}
}

// TestCompositionReleases: against a private API server, a definition from a private OCI registry; a composition
// created through the REST API is installed by a job (its ConfigMap in the cluster with Krateo's labels, its
// status listing it in managed[]); a spec change upgrades; a new chart version plus a relabel upgrades to it; a
// delete uninstalls (the ConfigMap goes) and removes the composition only then. A release that cannot be
// installed is visible in the status and retried. The kubeconfig and the registry password show in no answer
// and no log.
func TestCompositionReleases(t *testing.T) {
	kube := apiserver.Start(t)
	ctx := t.Context()
	cs := kube.Clientset(t, "demo")
	// The step is this test binary, under /tmp, which a sandboxed job cannot see (an installed runplane is in
	// /usr/local/bin, which it can): run jobs unsandboxed here.
	ts := startServer(t, func(c *Config) { c.Kubeconfig, c.Isolation = kube.Kubeconfig, local.IsolationNone })
	host := privateChartRegistry(t)
	ts.do(t, req{method: "POST", path: "/api/v1/runners", json: api.Runner{Name: "registry", GitURL: "https://example.com/x.git",
		Secret: map[string]string{"password": chartPassword}}}).want(t, http.StatusOK)
	readyDefinition(t, ts, host, "0.1.0")
	const base = "/api/v1/compositions/demo/fireworksapps"

	// waitFor polls the composition until ok says it is as wanted.
	waitFor := func(what, path string, ok func(api.ResourceRequest, chart.CompositionStatus, int) error) (api.ResourceRequest, chart.CompositionStatus) {
		t.Helper()
		var c api.ResourceRequest
		var st chart.CompositionStatus
		apiserver.Eventually(ctx, t, 2*time.Minute, func() error {
			var code int
			c, st, code = compositionStatus(t, ts, path)
			if err := ok(c, st, code); err != nil {
				return fmt.Errorf("%s: %w (status %+v)", what, err, st)
			}
			return nil
		})
		return c, st
	}
	configMap := func(name string) (*corev1.ConfigMap, error) {
		return cs.CoreV1().ConfigMaps("demo").Get(ctx, name, metav1.GetOptions{})
	}
	installed := func(gen int64, version string) func(api.ResourceRequest, chart.CompositionStatus, int) error {
		return func(c api.ResourceRequest, st chart.CompositionStatus, code int) error {
			if code != http.StatusOK {
				return fmt.Errorf("GET = %d", code)
			}
			if r := condition(st, "Ready"); r.Reason == chart.ReasonReleaseFailed {
				t.Fatalf("the release failed: %s\njob log:\n%s", r.Message, jobLog(t, ts, st.Run))
			}
			if condition(st, "Ready").Status != "True" || st.ObservedGeneration != gen || st.HelmChartVersion != version {
				return errors.New("not installed yet")
			}
			return nil
		}
	}

	ts.do(t, req{method: "POST", path: base, body: compositionDoc("fw", "v0-1-0", `{app: {replicas: 1}}`)}).want(t, http.StatusOK)
	c, st := waitFor("install", base+"/fw", installed(1, "0.1.0"))
	want := chart.ManagedObject{APIVersion: "v1", Resource: "configmaps", Name: "fw", Namespace: "demo", Path: "fireworks-app/templates/cm.yaml"}
	if len(st.Managed) != 1 || st.Managed[0] != want || !strings.HasPrefix(st.Digest, "sha256:") || st.Run == "" ||
		st.HelmChartURL != "oci://"+host+"/charts" {
		t.Errorf("installed status = %+v, want managed [%+v], a digest, the run, the chart URL", st, want)
	}
	cm, err := configMap("fw")
	if err != nil {
		t.Fatalf("the release's ConfigMap: %v", err)
	}
	for k, v := range map[string]string{"krateo.io/composition-name": "fw", "krateo.io/composition-namespace": "demo",
		"krateo.io/composition-id": c.Metadata.UID, "krateo.io/composition-kind": "FireworksApp",
		"krateo.io/composition-installed-version": "v0-1-0", "krateo.io/composition-resource": "fireworksapps"} {
		if cm.Labels[k] != v {
			t.Errorf("ConfigMap label %s = %q, want %q", k, cm.Labels[k], v)
		}
	}
	if cm.Data["replicas"] != "1" || cm.Data["chart"] != "0.1.0" {
		t.Errorf("installed ConfigMap data = %v", cm.Data)
	}
	// The install ran as the definition's ServiceAccount, whose Role allows exactly what the chart renders (and
	// the Secrets Helm keeps the release in).
	role, err := cs.RbacV1().Roles("demo").Get(ctx, "krateo-fireworks", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the definition's Role: %v", err)
	}
	var granted []string
	for _, r := range role.Rules {
		granted = append(granted, strings.Join(r.APIGroups, ",")+"/"+strings.Join(r.Resources, ",")+":"+strings.Join(r.Verbs, ","))
	}
	const verbs = "get,list,watch,create,update,patch,delete"
	if want := []string{"/secrets:" + verbs, "/configmaps:" + verbs}; strings.Join(granted, " ") != strings.Join(want, " ") {
		t.Errorf("the definition's Role grants %v, want %v", granted, want)
	}
	if _, err := cs.RbacV1().RoleBindings("demo").Get(ctx, "krateo-fireworks", metav1.GetOptions{}); err != nil {
		t.Errorf("the definition's RoleBinding: %v", err)
	}
	// The run and its job are ordinary ones: visible through the API.
	var run api.Run
	ts.do(t, req{method: "GET", path: "/api/v1/runs/" + st.Run}).want(t, http.StatusOK).decode(t, &run)
	if run.Status != api.RunSucceeded || len(run.Steps) != 1 || run.Steps[0].Job == "" {
		t.Errorf("the install run = %+v", run)
	}

	// A spec change upgrades.
	ts.do(t, req{method: "PUT", path: base + "/fw", body: compositionDoc("fw", "v0-1-0", `{app: {replicas: 2}}`)}).want(t, http.StatusOK)
	waitFor("upgrade", base+"/fw", installed(2, "0.1.0"))
	if cm, err := configMap("fw"); err != nil || cm.Data["replicas"] != "2" {
		t.Errorf("after the spec change: ConfigMap %v, %v; want replicas 2", cm, err)
	}

	// A new chart version, and a relabel to it, upgrades to it.
	readyDefinition(t, ts, host, "0.2.0")
	ts.do(t, req{method: "PUT", path: base + "/fw", body: compositionDoc("fw", "v0-1-0", `{app: {replicas: 2}}`,
		"krateo.io/composition-version", "v0-2-0")}).want(t, http.StatusOK)
	waitFor("upgrade to 0.2.0", base+"/fw", installed(2, "0.2.0"))
	if cm, err := configMap("fw"); err != nil || cm.Data["chart"] != "0.2.0" || cm.Labels["krateo.io/composition-installed-version"] != "v0-2-0" {
		t.Errorf("after the relabel: ConfigMap %v, %v; want chart 0.2.0", cm, err)
	}

	// A release that cannot be installed (an invalid release name): visible, and retried.
	ts.do(t, req{method: "POST", path: base, body: compositionDoc("bad", "v0-2-0", `{app: {}}`, "krateo.io/release-name", "Not_A_Release")}).
		want(t, http.StatusOK)
	waitFor("a failed install, retried", base+"/bad", func(_ api.ResourceRequest, st chart.CompositionStatus, _ int) error {
		if r := condition(st, "Ready"); r.Status != "False" || r.Reason != chart.ReasonReleaseFailed || !strings.Contains(r.Message, "see the job's log") {
			return errors.New("no failure shown yet")
		}
		if st.Attempts < 2 {
			return errors.New("not retried yet")
		}
		return nil
	})

	// krateo.io/paused: "true" stops reconciliation: nothing is installed, and the status says why.
	paused := strings.Replace(compositionDoc("held", "v0-2-0", `{app: {}}`), "  namespace: demo\n",
		"  namespace: demo\n  annotations:\n    krateo.io/paused: \"true\"\n", 1)
	ts.do(t, req{method: "POST", path: base, body: paused}).want(t, http.StatusOK)
	_, st, _ = compositionStatus(t, ts, base+"/held")
	if r := condition(st, "Synced"); r.Reason != chart.ReasonPaused || st.Run != "" {
		t.Errorf("paused composition: Synced %+v, run %q; want %s and no run", r, st.Run, chart.ReasonPaused)
	}
	if _, err := configMap("held"); !apierrors.IsNotFound(err) {
		t.Errorf("paused composition: ConfigMap get = %v, want NotFound", err)
	}

	// Delete: 202, the release uninstalled, then the composition gone.
	ts.do(t, req{method: "DELETE", path: base + "/fw"}).want(t, http.StatusAccepted)
	waitFor("uninstall", base+"/fw", func(_ api.ResourceRequest, _ chart.CompositionStatus, code int) error {
		if code != http.StatusNotFound {
			return fmt.Errorf("GET = %d, want 404", code)
		}
		return nil
	})
	if _, err := configMap("fw"); !apierrors.IsNotFound(err) {
		t.Errorf("after the delete: ConfigMap get = %v, want NotFound", err)
	}
	for _, secret := range []string{chartPassword, kube.Config.BearerToken} {
		if strings.Contains(ts.logs.String(), secret) {
			t.Errorf("the server log holds a secret (%.4s...)", secret)
		}
	}
}

// TestCompositionResumesAfterRestart: a server that stops while a composition's install runs leaves the status
// saying so; the next server on the same data dir takes the operation over and writes its outcome (the release
// installed, or retried until it is). It fails when the composer awaits only the runs it started itself: the
// status then says "Creating" for ever.
func TestCompositionResumesAfterRestart(t *testing.T) {
	kube := apiserver.Start(t)
	ctx := t.Context()
	cs := kube.Clientset(t, "demo")
	dir := t.TempDir()
	config := func(c *Config) { c.Kubeconfig, c.Isolation, c.DataDir = kube.Kubeconfig, local.IsolationNone, dir }
	host := privateChartRegistry(t)
	const path = "/api/v1/compositions/demo/fireworksapps/fw"
	var started chart.CompositionStatus
	t.Run("first server", func(t *testing.T) {
		ts := startServer(t, config)
		ts.do(t, req{method: "POST", path: "/api/v1/runners", json: api.Runner{Name: "registry", GitURL: "https://example.com/x.git",
			Secret: map[string]string{"password": chartPassword}}}).want(t, http.StatusOK)
		readyDefinition(t, ts, host, "0.1.0")
		ts.do(t, req{method: "POST", path: "/api/v1/compositions/demo/fireworksapps", body: compositionDoc("fw", "v0-1-0", `{app: {replicas: 3}}`)}).
			want(t, http.StatusOK)
		_, started, _ = compositionStatus(t, ts, path)
		// The server stops at the end of this subtest, its install's outcome not written yet.
	})
	if started.Run == "" || !strings.Contains(condition(started, "Synced").Message, "runs") {
		t.Fatalf("the first server's status = %+v, want an install under way", started)
	}
	ts := startServer(t, config)
	apiserver.Eventually(ctx, t, 2*time.Minute, func() error {
		_, st, code := compositionStatus(t, ts, path)
		if code != http.StatusOK {
			return fmt.Errorf("GET = %d", code)
		}
		if condition(st, "Ready").Status != "True" || st.Digest == "" {
			return fmt.Errorf("not installed yet: %+v", st)
		}
		return nil
	})
	if cm, err := cs.CoreV1().ConfigMaps("demo").Get(ctx, "fw", metav1.GetOptions{}); err != nil || cm.Data["replicas"] != "3" {
		t.Errorf("the release's ConfigMap: %v, %v; want replicas 3", cm, err)
	}
}

// TestCompositionsWithTheServersCluster: a server with a cluster and no --kubeconfig (as the Helm chart runs it,
// in the cluster; here $KUBECONFIG names it) installs compositions' releases with its own configuration, each
// step with its definition's ServiceAccount.
func TestCompositionsWithTheServersCluster(t *testing.T) {
	kube := apiserver.Start(t)
	ctx := t.Context()
	cs := kube.Clientset(t, "krateo-system", "demo")
	if _, err := cs.CoreV1().Secrets("krateo-system").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "registry"},
		StringData: map[string]string{"password": chartPassword}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	host := privateChartRegistry(t)
	t.Setenv("KUBECONFIG", kube.Kubeconfig)
	// Jobs run unsandboxed: the step is this test binary, under /tmp (TestCompositionReleases).
	ts := startServer(t, func(c *Config) { c.Isolation, c.InstallCRDs = local.IsolationNone, true })
	readyDefinition(t, ts, host, "0.1.0")
	ts.do(t, req{method: "POST", path: "/api/v1/compositions/demo/fireworksapps", body: compositionDoc("fw", "v0-1-0", `{app: {replicas: 2}}`)}).
		want(t, http.StatusOK)
	apiserver.Eventually(ctx, t, 2*time.Minute, func() error {
		cm, err := cs.CoreV1().ConfigMaps("demo").Get(ctx, "fw", metav1.GetOptions{})
		if err != nil {
			_, st, _ := compositionStatus(t, ts, "/api/v1/compositions/demo/fireworksapps/fw")
			return fmt.Errorf("the release's ConfigMap: %w (status %+v)", err, st)
		}
		if cm.Data["replicas"] != "2" {
			return fmt.Errorf("the release's ConfigMap says replicas %q, want 2", cm.Data["replicas"])
		}
		return nil
	})
	if _, err := cs.CoreV1().ServiceAccounts("demo").Get(ctx, "krateo-fireworks", metav1.GetOptions{}); err != nil {
		t.Errorf("the definition's ServiceAccount: %v", err)
	}
}
