package kube_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

const kubeAPIRoleName = chartName + "-kube-api"

// kubeAPIRules are what the Kubernetes-native API needs beyond the promises' groups.
var kubeAPIRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"platform.kratix.io"}, Resources: []string{"promises", "destinations", "gitstatestores"},
		Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	{APIGroups: []string{"platform.kratix.io"}, Resources: []string{"promises/status", "destinations/status", "gitstatestores/status"},
		Verbs: []string{"get", "update", "patch"}},
	{APIGroups: []string{"platform.runplane.dev"}, Resources: []string{"directorystatestores"},
		Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	{APIGroups: []string{"platform.runplane.dev"}, Resources: []string{"directorystatestores/status"},
		Verbs: []string{"get", "update", "patch"}},
	{APIGroups: []string{"core.krateo.io"}, Resources: []string{"compositiondefinitions"},
		Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	{APIGroups: []string{"core.krateo.io"}, Resources: []string{"compositiondefinitions/status"},
		Verbs: []string{"get", "update", "patch"}},
	{APIGroups: []string{"composition.krateo.io"}, Resources: []string{"*"},
		Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	{APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"},
		Verbs: []string{"get", "list", "watch", "create", "patch", "delete"}},
}

// TestChartKubeAPI renders the chart with kubeAPI's settings: off, nothing cluster-wide and no --kube-api; on, the
// server gets RUNPLANE_KUBE_API, its API token (whatever the executor) and a ClusterRole of runplane's kinds, CRDs
// and the promises' groups listed, bound to its account; rbac.create=false leaves the ClusterRole to the operator;
// a group that is no DNS name is refused.
func TestChartKubeAPI(t *testing.T) {
	h := needHelm(t)
	tests := []struct {
		name  string
		set   []string
		check func(t *testing.T, m manifests)
	}{
		{"off", nil, func(t *testing.T, m manifests) {
			for _, k := range []string{chartKey("ClusterRole", "", kubeAPIRoleName), chartKey("ClusterRoleBinding", "", kubeAPIRoleName)} {
				if _, ok := m[k]; ok {
					t.Errorf("rendered %s with kubeAPI off", k)
				}
			}
			d := chartObject[appsv1.Deployment](t, m, chartKey("Deployment", "ops", chartName))
			if v, ok := containerEnv(d.Spec.Template.Spec.Containers[0])["RUNPLANE_KUBE_API"]; ok {
				t.Errorf("RUNPLANE_KUBE_API=%q with kubeAPI off", v)
			}
		}},
		{"on, with promise groups", []string{"kubeAPI.enabled=true", "kubeAPI.promiseGroups={marketplace.kratix.io,example.dev}"}, func(t *testing.T, m manifests) {
			role := chartObject[rbacv1.ClusterRole](t, m, chartKey("ClusterRole", "", kubeAPIRoleName))
			want := append(append([]rbacv1.PolicyRule(nil), kubeAPIRules...), rbacv1.PolicyRule{
				APIGroups: []string{"marketplace.kratix.io", "example.dev"}, Resources: []string{"*"},
				Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}})
			if d := cmp.Diff(want, role.Rules); d != "" {
				t.Errorf("ClusterRole rules (-want +got):\n%s", d)
			}
			rb := chartObject[rbacv1.ClusterRoleBinding](t, m, chartKey("ClusterRoleBinding", "", kubeAPIRoleName))
			if want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: chartName, Namespace: "ops"}}; !cmp.Equal(rb.Subjects, want) {
				t.Errorf("ClusterRoleBinding subjects %+v, want %+v", rb.Subjects, want)
			}
			if rb.RoleRef.Kind != "ClusterRole" || rb.RoleRef.Name != kubeAPIRoleName {
				t.Errorf("ClusterRoleBinding roleRef %+v, want ClusterRole %s", rb.RoleRef, kubeAPIRoleName)
			}
			d := chartObject[appsv1.Deployment](t, m, chartKey("Deployment", "ops", chartName))
			if env := containerEnv(d.Spec.Template.Spec.Containers[0]); env["RUNPLANE_KUBE_API"] != "true" {
				t.Errorf("RUNPLANE_KUBE_API = %q, want true", env["RUNPLANE_KUBE_API"])
			}
		}},
		{"on, no promise groups", []string{"kubeAPI.enabled=true"}, func(t *testing.T, m manifests) {
			role := chartObject[rbacv1.ClusterRole](t, m, chartKey("ClusterRole", "", kubeAPIRoleName))
			if d := cmp.Diff(kubeAPIRules, role.Rules); d != "" {
				t.Errorf("ClusterRole rules (-want +got):\n%s", d)
			}
		}},
		{"on, local executor", []string{"kubeAPI.enabled=true", "executor.type=local"}, func(t *testing.T, m manifests) {
			d := chartObject[appsv1.Deployment](t, m, chartKey("Deployment", "ops", chartName))
			if a := d.Spec.Template.Spec.AutomountServiceAccountToken; a == nil || !*a {
				t.Errorf("pod automountServiceAccountToken = %v, want true: the mirror talks to the API server", a)
			}
			sa := chartObject[corev1.ServiceAccount](t, m, chartKey("ServiceAccount", "ops", chartName))
			if a := sa.AutomountServiceAccountToken; a == nil || !*a {
				t.Errorf("ServiceAccount automountServiceAccountToken = %v, want true", a)
			}
			chartObject[rbacv1.ClusterRole](t, m, chartKey("ClusterRole", "", kubeAPIRoleName))
		}},
		{"on, compositions installed by the server", []string{"kubeAPI.enabled=true", "kubeAPI.compositions.enabled=true",
			"kubeAPI.compositions.releaseRules[0].apiGroups={}", // {} is [""], the core group
			"kubeAPI.compositions.releaseRules[0].resources={configmaps}",
			"kubeAPI.compositions.releaseRules[0].verbs={get,create}"}, func(t *testing.T, m manifests) {
			role := chartObject[rbacv1.ClusterRole](t, m, chartKey("ClusterRole", "", kubeAPIRoleName))
			want := append(append([]rbacv1.PolicyRule(nil), kubeAPIRules...),
				rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "create"}},
				rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, Verbs: []string{"create"}},
				rbacv1.PolicyRule{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"roles", "rolebindings", "clusterroles", "clusterrolebindings"},
					Verbs: []string{"get", "create", "update"}},
				rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
				rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "create"}})
			if d := cmp.Diff(want, role.Rules); d != "" {
				t.Errorf("ClusterRole rules (-want +got):\n%s", d)
			}
		}},
		{"on, rbac off", []string{"kubeAPI.enabled=true", "rbac.create=false"}, func(t *testing.T, m manifests) {
			if _, ok := m[chartKey("ClusterRole", "", kubeAPIRoleName)]; ok {
				t.Error("rendered the ClusterRole with rbac.create=false")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if out, err := h.run(t.Context(), append([]string{"lint", "--strict", chartDir}, setArgs(tt.set)...)...); err != nil {
				t.Errorf("helm lint --strict: %v\n%s", err, out)
			}
			m, err := h.template(t, "ops", tt.set...)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, m)
		})
	}

	t.Run("a promise group that is no DNS name", func(t *testing.T) {
		_, err := h.template(t, "ops", "kubeAPI.enabled=true", "kubeAPI.promiseGroups={Example_Dev}")
		if err == nil || !strings.Contains(err.Error(), schemaError) || !strings.Contains(err.Error(), "promiseGroups") {
			t.Errorf("helm template = %v, want the schema to refuse kubeAPI.promiseGroups", err)
		}
	})

	// helm install installs crds/: what --include-crds renders is exactly the chart's files, the CRDs the binary
	// embeds (TestChartCRDsAreEmbedded in kubemirror).
	t.Run("crds", func(t *testing.T) {
		m, err := h.render(t, "--include-crds")
		if err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(chartDir, "crds", "*.yaml"))
		var want []string
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimSuffix(filepath.Base(f), ".yaml")
			group, plural, _ := strings.Cut(name, "_")
			want = append(want, chartKey("CustomResourceDefinition", "", plural+"."+group))
			if !strings.Contains(string(b), "name: "+plural+"."+group) {
				t.Errorf("%s does not define %s.%s", f, plural, group)
			}
		}
		slices.Sort(want)
		var got []string
		for _, k := range m.keys() {
			if strings.HasPrefix(k, "CustomResourceDefinition ") {
				got = append(got, k)
			}
		}
		if len(want) != 5 || !cmp.Equal(want, got) {
			t.Errorf("CRDs rendered %q, want %q (five: Kratix's three, runplane's directory store, Krateo's definition)", got, want)
		}
	})
}
