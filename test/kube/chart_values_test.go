// The chart's values.schema.json, the Secret with root's password and the checksum that rolls the pods, and the
// optional Ingress, ServiceMonitor and NetworkPolicy — with `helm lint` and `helm template`, no cluster. What needs
// one, `lookup` finding the Secret an earlier install generated (an upgrade keeps the password), is checked by
// TestChartInstall.

package kube_test

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// schemaError is how helm says values.schema.json refused the values.
const schemaError = "values don't meet the specifications of the schema"

// TestChartSchema checks that values.schema.json accepts the values the chart is used with and refuses bad ones
// at lint and at template (and so at install), naming the value.
func TestChartSchema(t *testing.T) {
	h := needHelm(t)
	good := []struct {
		name  string
		flags []string
	}{
		{"defaults", nil},
		{"TestChartInstall's values", []string{"--values", writeValues(t, installValues("registry.example/runplane", "test", "runplane-test-pv", "docker.io/library/busybox:1.37"))}},
		{"local executor", setArgs([]string{"executor.type=local", "persistence.enabled=false"})},
		{"replicas on PostgreSQL", setArgs([]string{"replicaCount=3", "store.existingSecret=pg", "keys.existingSecret=keys", "persistence.enabled=false"})},
		{"numbers where --set reads numbers", setArgs([]string{"image.tag=42", "service.type=NodePort", "service.nodePort=30080", "resources.limits.cpu=2", "persistence.size=2Gi"})},
		{"no resources", setArgs([]string{"resources=null"})},
		{"root password settings", setArgs([]string{"auth.rootPassword=correct-horse", "auth.existingSecretKey=pw", "auth.resetRootPassword=true"})},
		{"every option on", append(setArgs([]string{
			"ingress.enabled=true", "ingress.className=nginx", "ingress.annotations.a=b",
			"ingress.tls[0].secretName=rp-tls", "ingress.tls[0].hosts={runplane.example.com}",
			"serviceMonitor.enabled=true", "serviceMonitor.labels.release=prom", "serviceMonitor.interval=30s", "serviceMonitor.scrapeTimeout=10s",
			"networkPolicy.enabled=true",
			"podAnnotations.team=ops", "podLabels.tier=api",
		}), "--set-json", `networkPolicy.ingressFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"ingress-nginx"}}},{"ipBlock":{"cidr":"10.0.0.0/8"}}]`,
			"--set-json", `networkPolicy.egress=[{"ports":[{"port":53,"protocol":"UDP"}]},{"to":[{"ipBlock":{"cidr":"10.1.0.0/16"}}],"ports":[{"port":5432}]}]`)},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if out, err := h.run(t.Context(), append([]string{"lint", "--strict", chartDir}, tt.flags...)...); err != nil {
				t.Errorf("%v\n%s", err, out)
			}
			if _, err := h.render(t, tt.flags...); err != nil {
				t.Error(err)
			}
		})
	}

	bad := []struct {
		name  string
		set   []string
		field string // the value the error must name (each of its dotted parts: helm versions write paths differently)
	}{
		{"replicas not a number", []string{"replicaCount=two"}, "replicaCount"},
		{"negative replicas", []string{"replicaCount=-1"}, "replicaCount"},
		{"a misspelt value", []string{"replicas=2"}, "replicas"},
		{"a misspelt nested value", []string{"persistence.enable=false"}, "persistence.enable"},
		{"an unknown executor", []string{"executor.type=docker"}, "executor.type"},
		{"a job namespace that is no DNS label", []string{"executor.namespace=Ops_Jobs"}, "executor.namespace"},
		{"a job TTL that is no duration", []string{"executor.jobTTL=5 minutes"}, "executor.jobTTL"},
		{"an unknown pull policy", []string{"image.pullPolicy=Sometimes"}, "image.pullPolicy"},
		{"an unknown service type", []string{"service.type=ExternalName"}, "service.type"},
		{"a port out of range", []string{"service.port=70000"}, "service.port"},
		{"an unknown access mode", []string{"persistence.accessModes={ReadWriteSometimes}"}, "persistence.accessModes"},
		{"a size that is no quantity", []string{"persistence.size=big"}, "persistence.size"},
		{"an unknown log level", []string{"log.level=verbose"}, "log.level"},
		{"a log format", []string{"log.format=xml"}, "log.format"},
		{"reset not a boolean", []string{"auth.resetRootPassword=yes"}, "auth.resetRootPassword"},
		{"a misspelt resources key", []string{"resources.limit.cpu=1"}, "resources.limit"},
		{"a memory limit that is no quantity", []string{"resources.limits.memory=lots"}, "resources.limits.memory"},
		{"an annotation that is no string", []string{"podAnnotations.replicas=3"}, "podAnnotations.replicas"},
		{"an extra env without a name", []string{"extraEnv[0].value=x"}, "extraEnv.name"},
		{"an ingress path without /", []string{"ingress.enabled=true", "ingress.hosts[0].paths[0].path=api"}, "ingress.hosts.paths.path"},
		{"an unknown ingress path type", []string{"ingress.enabled=true", "ingress.hosts[0].paths[0].pathType=Regex"}, "ingress.hosts.paths.pathType"},
		{"a scrape interval that is no duration", []string{"serviceMonitor.enabled=true", "serviceMonitor.interval=often"}, "serviceMonitor.interval"},
		{"a misspelt network policy peer", []string{"networkPolicy.enabled=true", "networkPolicy.ingressFrom[0].podSelektor.matchLabels.app=x"}, "networkPolicy.ingressFrom.podSelektor"},
		{"a network policy switch that is no boolean", []string{"networkPolicy.enabled=maybe"}, "networkPolicy.enabled"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			refused := func(msg string) bool {
				for _, part := range strings.Split(tt.field, ".") {
					if !strings.Contains(msg, part) {
						return false
					}
				}
				return strings.Contains(msg, schemaError)
			}
			out, err := h.run(t.Context(), append([]string{"lint", chartDir}, setArgs(tt.set)...)...)
			if err == nil || !refused(out) {
				t.Errorf("helm lint --set %v: %v\n%s\nwant it to fail: %s, naming %s", tt.set, err, out, schemaError, tt.field)
			}
			if _, err := h.template(t, "ops", tt.set...); err == nil || !refused(err.Error()) {
				t.Errorf("helm template --set %v = %v, want it to fail: %s, naming %s", tt.set, err, schemaError, tt.field)
			}
		})
	}

	// The templates check too, for whoever skips the schema.
	_, err := h.render(t, "--skip-schema-validation", "--set", "executor.type=docker")
	if want := `executor.type "docker": want kubernetes or local`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("helm template --skip-schema-validation --set executor.type=docker = %v, want an error containing %q", err, want)
	}
}

// rootSecret is what a rendering says about root's password: the Secret the chart made (nil for none), the
// pod template's checksum/secret, and the server's arguments and password variable.
type rootSecret struct {
	Secret   *corev1.Secret
	Checksum string
	Args     []string
	Env      string
}

func renderRootSecret(t *testing.T, h *helm, set ...string) rootSecret {
	t.Helper()
	m, err := h.template(t, "ops", set...)
	if err != nil {
		t.Fatal(err)
	}
	var r rootSecret
	if _, ok := m[chartKey("Secret", "ops", chartName)]; ok {
		s := chartObject[corev1.Secret](t, m, chartKey("Secret", "ops", chartName))
		r.Secret = &s
	}
	d := chartObject[appsv1.Deployment](t, m, chartKey("Deployment", "ops", chartName))
	r.Checksum = d.Spec.Template.Annotations["checksum/secret"]
	c := d.Spec.Template.Spec.Containers[0]
	r.Args = c.Args
	r.Env = containerEnv(c)["RUNPLANE_ROOT_PASSWORD"]
	return r
}

// TestChartRootSecret checks where root's password comes from, that a rendering which cannot read the cluster
// makes the same Secret every time when the values fix it (GitOps), and that the pods roll when what the chart puts
// into the Secret changes — and only then.
func TestChartRootSecret(t *testing.T) {
	h := needHelm(t)
	const password = "correct-horse-battery"

	t.Run("generated", func(t *testing.T) {
		t.Parallel()
		a, b := renderRootSecret(t, h), renderRootSecret(t, h)
		for _, r := range []rootSecret{a, b} {
			if r.Secret == nil || len(r.Secret.Data["root-password"]) < 20 {
				t.Fatalf("Secret %+v: want one with a generated password of 20 or more characters", r.Secret)
			}
			if p := r.Secret.Annotations["helm.sh/resource-policy"]; p != "keep" {
				t.Errorf("generated Secret's helm.sh/resource-policy = %q, want keep: it cannot be made again", p)
			}
			if r.Env != "secret "+chartName+"/root-password" {
				t.Errorf("RUNPLANE_ROOT_PASSWORD = %q, want from the chart's Secret", r.Env)
			}
		}
		// What values.yaml and the README warn about: without the cluster (no lookup) a generated password is
		// new on every render. The checksum leaves it out, so such renderings do not also roll the pods.
		if string(a.Secret.Data["root-password"]) == string(b.Secret.Data["root-password"]) {
			t.Error("two renderings generated the same password; the documentation says they differ")
		}
		if a.Checksum == "" || a.Checksum != b.Checksum {
			t.Errorf("checksum/secret %q then %q: want one value, whatever was generated", a.Checksum, b.Checksum)
		}
	})

	t.Run("fixed", func(t *testing.T) {
		t.Parallel()
		a := renderRootSecret(t, h, "auth.rootPassword="+password)
		b := renderRootSecret(t, h, "auth.rootPassword="+password)
		if a.Secret == nil || string(a.Secret.Data["root-password"]) != password {
			t.Fatalf("Secret %+v: want root-password %q", a.Secret, password)
		}
		if _, ok := a.Secret.Annotations["helm.sh/resource-policy"]; ok {
			t.Errorf("a Secret made from values has annotations %v; keep is for generated ones", a.Secret.Annotations)
		}
		if d := cmp.Diff(a, b); d != "" {
			t.Errorf("two renderings of the same values differ (-first +second); GitOps tools would fight over them:\n%s", d)
		}
		sum := sha256.Sum256([]byte(password))
		if a.Checksum == "" || strings.Contains(a.Checksum, hex.EncodeToString(sum[:])) {
			t.Errorf("checksum/secret = %q: want one, and not the password's plain sha256", a.Checksum)
		}
	})

	t.Run("existing secret", func(t *testing.T) {
		t.Parallel()
		r := renderRootSecret(t, h, "auth.existingSecret=mine", "auth.existingSecretKey=pw", "auth.rootPassword=ignored")
		if r.Secret != nil {
			t.Errorf("rendered Secret %s although auth.existingSecret is set", r.Secret.Name)
		}
		if r.Env != "secret mine/pw" || r.Checksum != "" {
			t.Errorf("RUNPLANE_ROOT_PASSWORD %q, checksum/secret %q; want from secret mine/pw, and no checksum of a Secret the chart does not render", r.Env, r.Checksum)
		}
	})

	t.Run("reset", func(t *testing.T) {
		t.Parallel()
		if r := renderRootSecret(t, h); !slices.Equal(r.Args, []string{"serve"}) {
			t.Errorf("server args %q by default, want [serve]", r.Args)
		}
		if r := renderRootSecret(t, h, "auth.resetRootPassword=true"); !slices.Equal(r.Args, []string{"serve", "--reset-root-password"}) {
			t.Errorf("server args %q with auth.resetRootPassword, want [serve --reset-root-password]", r.Args)
		}
	})

	t.Run("checksum follows the Secret", func(t *testing.T) {
		t.Parallel()
		base := renderRootSecret(t, h, "auth.rootPassword="+password).Checksum
		for _, set := range [][]string{
			{"auth.rootPassword=" + password + "!"},
			{"auth.rootPassword=" + password, "auth.existingSecretKey=pw"},
			nil, // generated
		} {
			if r := renderRootSecret(t, h, set...); r.Checksum == base || r.Checksum == "" {
				t.Errorf("--set %v: checksum/secret %q, want one other than %q (auth.rootPassword=%s)", set, r.Checksum, base, password)
			}
		}
		// Values that do not go into the Secret do not roll the pods through it.
		if r := renderRootSecret(t, h, "auth.rootPassword="+password, "log.level=debug", "auth.resetRootPassword=true"); r.Checksum != base {
			t.Errorf("checksum/secret %q after changing values outside the Secret, want %q", r.Checksum, base)
		}
	})
}

// serviceMonitor is the part of a monitoring.coreos.com/v1 ServiceMonitor the chart sets (the Prometheus
// Operator's types are no dependency of runplane).
type serviceMonitor struct {
	APIVersion string            `json:"apiVersion"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       struct {
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector struct {
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector"`
		Endpoints []struct {
			Port, Path, Interval, ScrapeTimeout string
		} `json:"endpoints"`
	} `json:"spec"`
}

// TestChartOptional checks the Ingress, ServiceMonitor and NetworkPolicy: none by default, each as configured
// when enabled.
func TestChartOptional(t *testing.T) {
	h := needHelm(t)
	ingressKey := chartKey("Ingress", "ops", chartName)
	monitorKey := chartKey("ServiceMonitor", "ops", chartName)
	policyKey := chartKey("NetworkPolicy", "ops", chartName)
	only := func(t *testing.T, m manifests, want string) {
		t.Helper()
		for _, k := range []string{ingressKey, monitorKey, policyKey} {
			if _, ok := m[k]; ok != (k == want) {
				t.Errorf("rendered %s: %v, want %v", k, ok, k == want)
			}
		}
	}
	serverPods := func(t *testing.T, m manifests) map[string]string {
		return chartObject[appsv1.Deployment](t, m, chartKey("Deployment", "ops", chartName)).Spec.Template.Labels
	}
	tests := []struct {
		name  string
		flags []string
		check func(t *testing.T, m manifests)
	}{
		{"defaults", nil, func(t *testing.T, m manifests) { only(t, m, "") }},
		{"ingress", setArgs([]string{
			"ingress.enabled=true", "ingress.className=nginx", "ingress.annotations.nginx\\.ingress\\.kubernetes\\.io/proxy-body-size=10m",
			"ingress.hosts[0].host=rp.example.org", "ingress.hosts[0].paths[0].path=/api", "ingress.hosts[0].paths[0].pathType=Prefix",
			"ingress.hosts[1].paths[0].path=/healthz", "ingress.hosts[1].paths[0].pathType=Exact",
			"ingress.tls[0].secretName=rp-tls", "ingress.tls[0].hosts={rp.example.org}",
		}), func(t *testing.T, m manifests) {
			only(t, m, ingressKey)
			ing := chartObject[networkingv1.Ingress](t, m, ingressKey)
			backend := networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: chartName, Port: networkingv1.ServiceBackendPort{Name: "http"}}}
			prefix, exact := networkingv1.PathTypePrefix, networkingv1.PathTypeExact
			class := "nginx"
			want := networkingv1.IngressSpec{
				IngressClassName: &class,
				TLS:              []networkingv1.IngressTLS{{Hosts: []string{"rp.example.org"}, SecretName: "rp-tls"}},
				Rules: []networkingv1.IngressRule{
					{Host: "rp.example.org", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
						Paths: []networkingv1.HTTPIngressPath{{Path: "/api", PathType: &prefix, Backend: backend}}}}},
					{IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
						Paths: []networkingv1.HTTPIngressPath{{Path: "/healthz", PathType: &exact, Backend: backend}}}}},
				},
			}
			if d := cmp.Diff(want, ing.Spec); d != "" {
				t.Errorf("Ingress spec (-want +got):\n%s", d)
			}
			if a := ing.Annotations["nginx.ingress.kubernetes.io/proxy-body-size"]; a != "10m" {
				t.Errorf("Ingress annotations %v, want proxy-body-size 10m", ing.Annotations)
			}
		}},
		{"service monitor", setArgs([]string{"serviceMonitor.enabled=true", "serviceMonitor.labels.release=prom", "serviceMonitor.interval=30s"}), func(t *testing.T, m manifests) {
			only(t, m, monitorKey)
			sm := chartObject[serviceMonitor](t, m, monitorKey)
			if sm.APIVersion != "monitoring.coreos.com/v1" || sm.Metadata.Labels["release"] != "prom" {
				t.Errorf("ServiceMonitor %s with labels %v, want monitoring.coreos.com/v1 with release=prom", sm.APIVersion, sm.Metadata.Labels)
			}
			svc := chartObject[corev1.Service](t, m, chartKey("Service", "ops", chartName))
			for k, v := range sm.Spec.Selector.MatchLabels {
				if svc.Labels[k] != v {
					t.Errorf("ServiceMonitor selects %s=%s; the Service's labels are %v", k, v, svc.Labels)
				}
			}
			if len(sm.Spec.Selector.MatchLabels) == 0 || !slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{"ops"}) {
				t.Errorf("ServiceMonitor selector %+v in namespaces %v, want the chart's Service in ops", sm.Spec.Selector, sm.Spec.NamespaceSelector.MatchNames)
			}
			if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "http" || sm.Spec.Endpoints[0].Path != "/metrics" || sm.Spec.Endpoints[0].Interval != "30s" {
				t.Errorf("ServiceMonitor endpoints %+v, want /metrics on port http every 30s", sm.Spec.Endpoints)
			}
			if p := svc.Spec.Ports; len(p) != 1 || p[0].Name != "http" {
				t.Errorf("Service ports %+v: the ServiceMonitor scrapes the port named http", p)
			}
		}},
		{"network policy, any source, egress open", setArgs([]string{"networkPolicy.enabled=true"}), func(t *testing.T, m manifests) {
			only(t, m, policyKey)
			np := chartObject[networkingv1.NetworkPolicy](t, m, policyKey)
			tcp, http := corev1.ProtocolTCP, intstr.FromString("http")
			want := networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "runplane", "app.kubernetes.io/instance": "rp"}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &http}}}},
			}
			if d := cmp.Diff(want, np.Spec); d != "" {
				t.Errorf("NetworkPolicy spec (-want +got):\n%s", d)
			}
			for k, v := range np.Spec.PodSelector.MatchLabels {
				if serverPods(t, m)[k] != v {
					t.Errorf("NetworkPolicy selects %s=%s; the server's pods are labelled %v", k, v, serverPods(t, m))
				}
			}
		}},
		{"network policy, peers and egress", []string{"--set", "networkPolicy.enabled=true",
			"--set-json", `networkPolicy.ingressFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"ingress-nginx"}}},{"podSelector":{"matchLabels":{"app":"prometheus"}}}]`,
			"--set-json", `networkPolicy.egress=[{"ports":[{"port":53,"protocol":"UDP"}]}]`,
		}, func(t *testing.T, m manifests) {
			only(t, m, policyKey)
			np := chartObject[networkingv1.NetworkPolicy](t, m, policyKey)
			wantFrom := []networkingv1.NetworkPolicyPeer{
				{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "ingress-nginx"}}},
				{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "prometheus"}}},
			}
			if len(np.Spec.Ingress) != 2 {
				t.Fatalf("NetworkPolicy ingress %+v, want two rules: the peers', and the job pods' (workflow steps call the metadata API)", np.Spec.Ingress)
			}
			for _, rule := range np.Spec.Ingress {
				if len(rule.Ports) != 1 || rule.Ports[0].Port.String() != "http" {
					t.Errorf("NetworkPolicy ingress rule %+v, want it for the port http only", rule)
				}
			}
			if d := cmp.Diff(wantFrom, np.Spec.Ingress[0].From); d != "" {
				t.Errorf("NetworkPolicy ingress peers (-want +got):\n%s", d)
			}
			wantJobs := []networkingv1.NetworkPolicyPeer{{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "ops"}},
				PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/managed-by": "runplane"}},
			}}
			if d := cmp.Diff(wantJobs, np.Spec.Ingress[1].From); d != "" {
				t.Errorf("NetworkPolicy ingress from job pods (-want +got):\n%s", d)
			}
			udp, dns := corev1.ProtocolUDP, intstr.FromInt32(53)
			wantEgress := []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &dns}}}}
			if d := cmp.Diff(wantEgress, np.Spec.Egress); d != "" {
				t.Errorf("NetworkPolicy egress (-want +got):\n%s", d)
			}
			if want := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}; !slices.Equal(np.Spec.PolicyTypes, want) {
				t.Errorf("NetworkPolicy policyTypes %v, want %v", np.Spec.PolicyTypes, want)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := h.render(t, append([]string{"--namespace", "ops"}, tt.flags...)...)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, m)
		})
	}
}
