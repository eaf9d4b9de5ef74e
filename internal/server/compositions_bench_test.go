package server

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/registry"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor/local"
	"github.com/runplane/runplane/internal/kubetest/apiserver"
	"github.com/runplane/runplane/internal/platform/chart"
)

// TestCompositionInstallBenchmark (RUNPLANE_BENCH=1, with the private API server's binaries): a composition
// created through the REST API until its release is deployed (status Ready) against a bare Helm SDK install
// (action.Install) of the same chart and values into the same API server, alternating, several rounds in one
// run; it logs each round, the medians, their ratio (target <= 1.3) and /proc/loadavg.
func TestCompositionInstallBenchmark(t *testing.T) {
	if os.Getenv("RUNPLANE_BENCH") != "1" {
		t.Skip("a benchmark: RUNPLANE_BENCH=1 runs it")
	}
	kube := apiserver.Start(t)
	ctx := t.Context()
	ts := startServer(t, func(c *Config) { c.Kubeconfig, c.Isolation = kube.Kubeconfig, local.IsolationNone })
	host := privateChartRegistry(t)
	ts.do(t, req{method: "POST", path: "/api/v1/runners", json: api.Runner{Name: "registry", GitURL: "https://example.com/x.git",
		Secret: map[string]string{"password": chartPassword}}}).want(t, http.StatusOK)
	readyDefinition(t, ts, host, "0.1.0")

	// The bare install's chart: the same package, pulled with the Helm SDK.
	rc, err := registry.NewClient(registry.ClientOptPlainHTTP(), registry.ClientOptBasicAuth("krateo", chartPassword),
		registry.ClientOptCredentialsFile(t.TempDir()+"/c.json"))
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := rc.Pull(host + "/charts/fireworks-app:0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := loader.LoadArchive(bytes.NewReader(pulled.Chart.Data))
	if err != nil {
		t.Fatal(err)
	}
	flags := genericclioptions.NewConfigFlags(false)
	ns := "default"
	flags.KubeConfig, flags.Namespace = &kube.Kubeconfig, &ns
	cfg := action.NewConfiguration()
	if err := cfg.Init(flags, ns, "secret"); err != nil {
		t.Fatal(err)
	}
	bare := func(name string) time.Duration {
		start := time.Now()
		in := action.NewInstall(cfg)
		in.ReleaseName, in.Namespace, in.WaitStrategy = name, ns, "hookOnly"
		if _, err := in.RunWithContext(ctx, ch, map[string]any{"app": map[string]any{"replicas": 1}}); err != nil {
			t.Fatalf("bare install: %v", err)
		}
		return time.Since(start)
	}
	viaAPI := func(name string) time.Duration {
		start := time.Now()
		ts.do(t, req{method: "POST", path: "/api/v1/compositions/default/fireworksapps",
			body: strings.Replace(compositionDoc(name, "v0-1-0", `{app: {replicas: 1}}`), "namespace: demo", "namespace: default", 1)}).
			want(t, http.StatusOK)
		for {
			_, st, _ := compositionStatus(t, ts, "/api/v1/compositions/default/fireworksapps/"+name)
			if condition(st, "Ready").Status == "True" {
				d := time.Since(start)
				var run api.Run
				ts.do(t, req{method: "GET", path: "/api/v1/runs/" + st.Run}).want(t, http.StatusOK).decode(t, &run)
				if s := run.Steps[0]; s.StartTime != nil && s.CompletionTime != nil {
					t.Logf("  %s: step job %v of it, started %v after the POST", name, s.CompletionTime.Sub(*s.StartTime).Round(time.Millisecond),
						s.StartTime.Sub(start).Round(time.Millisecond))
				}
				return d
			}
			if condition(st, "Ready").Reason == chart.ReasonReleaseFailed {
				t.Fatalf("install failed: %s", jobLog(t, ts, st.Run))
			}
			if time.Since(start) > time.Minute {
				t.Fatalf("composition %s not Ready after a minute", name)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// And the helm CLI (hack/kube/cluster.sh builds it), a process per install as the composition's step is.
	k8sHome := os.Getenv("RUNPLANE_K8S_HOME") // as apiserver.Start finds its binaries
	if k8sHome == "" {
		k8sHome = os.Getenv("HOME") + "/.cache/runplane-k8s"
	}
	helmBin := k8sHome + "/bin/helm"
	tgz := t.TempDir() + "/chart.tgz"
	if err := os.WriteFile(tgz, pulled.Chart.Data, 0o600); err != nil {
		t.Fatal(err)
	}
	helmCLI := func(name string) time.Duration {
		if _, err := os.Stat(helmBin); err != nil {
			return 0
		}
		start := time.Now()
		cmd := exec.CommandContext(ctx, helmBin, "install", name, tgz, "--kubeconfig", kube.Kubeconfig, "-n", ns,
			"--set", "app.replicas=1")
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("helm install: %v\n%s", err, out)
		}
		return time.Since(start)
	}
	const rounds = 5
	var h []time.Duration
	var b, r []time.Duration
	for i := range rounds {
		tb := bare(fmt.Sprintf("bare-%d", i))
		th := helmCLI(fmt.Sprintf("cli-%d", i))
		tr := viaAPI(fmt.Sprintf("fw-%d", i))
		b, r, h = append(b, tb), append(r, tr), append(h, th)
		load, _ := os.ReadFile("/proc/loadavg")
		t.Logf("round %d: Helm SDK install (in-process) %v, helm install (CLI) %v, composition -> release deployed %v (%.2fx the SDK's, %.2fx the CLI's); loadavg %s",
			i+1, tb.Round(time.Millisecond), th.Round(time.Millisecond), tr.Round(time.Millisecond), float64(tr)/float64(tb),
			float64(tr)/float64(th), strings.TrimSpace(string(load)))
	}
	mb, mr, mh := median(b), median(r), median(h)
	t.Logf("median: SDK %v, CLI %v, composition %v: %.2fx the SDK's, %.2fx the CLI's (target <= 1.3x)", mb.Round(time.Millisecond),
		mh.Round(time.Millisecond), mr.Round(time.Millisecond), float64(mr)/float64(mb), float64(mr)/float64(mh))
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
