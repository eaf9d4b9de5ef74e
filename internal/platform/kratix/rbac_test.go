package kratix

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

// Access lists the pipelines that asked for rbac, with Kratix's names, their rules by namespace; a pipeline that
// names an account uses it; a pipeline without rbac is not listed and its step has no account or token.
func TestAccess(t *testing.T) {
	read := api.PipelinePermission{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}
	other := api.PipelinePermission{ResourceNamespace: "apps", Resources: []string{"secrets"}, Verbs: []string{"list"}}
	all := api.PipelinePermission{ResourceNamespace: "*", Resources: []string{"namespaces"}, Verbs: []string{"list"}}
	pipe := func(name string, rbac *api.PipelineRBAC) api.Pipeline {
		return api.Pipeline{Metadata: api.PipelineMetadata{Name: name}, Spec: api.PipelineSpec{RBAC: rbac,
			Containers: []api.PipelineContainer{{Name: "c", Image: "busybox"}}}}
	}
	w := api.PromiseWorkflows{
		Promise: api.WorkflowActions{Configure: []api.Pipeline{pipe("plain", nil), pipe("empty", &api.PipelineRBAC{})}},
		Resource: api.WorkflowActions{
			Configure: []api.Pipeline{pipe("reader", &api.PipelineRBAC{Permissions: []api.PipelinePermission{read, other, all}})},
			Delete:    []api.Pipeline{pipe("cleanup", &api.PipelineRBAC{ServiceAccount: "ops"})},
		},
	}
	want := []PipelineAccess{
		{ID: "redis-resource-configure-reader", ServiceAccount: "redis-resource-configure-reader",
			Rules: map[string][]api.PipelinePermission{"": {read}, "apps": {other}, "*": {all}}},
		{ID: "redis-resource-delete-cleanup", ServiceAccount: "ops", Existing: true},
	}
	if diff := cmp.Diff(want, Access("redis", w)); diff != "" {
		t.Errorf("Access (-want +got):\n%s", diff)
	}
	if got := want[0].Namespaces(); !cmp.Equal(got, []string{"", "*", "apps"}) {
		t.Errorf("Namespaces = %q", got)
	}

	tests := []struct {
		name      string
		target    Target
		pipelines []api.Pipeline
		wantSA    string
	}{
		{"no rbac", PromiseTarget("redis", ActionConfigure), w.Promise.Configure[:1], ""},
		{"empty rbac", PromiseTarget("redis", ActionConfigure), w.Promise.Configure[1:], ""},
		{"permissions", ResourceTarget("redis", ActionConfigure, "x.io/v1", "Redis", "redises", "r", "default", false),
			w.Resource.Configure, "redis-resource-configure-reader"},
		{"named account", ResourceTarget("redis", ActionDelete, "x.io/v1", "Redis", "redises", "r", "default", false),
			w.Resource.Delete, "ops"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wf, err := BuildPipeline(Input{Target: tc.target, Object: map[string]any{"apiVersion": "x.io/v1", "kind": "Redis", "metadata": map[string]any{"name": "r", "namespace": "default"}}, Pipelines: tc.pipelines}, 0)
			if err != nil {
				t.Fatal(err)
			}
			k := wf.Steps[0].Kubernetes
			sa, token := "", false
			if k != nil {
				sa, token = k.ServiceAccount, k.ServiceAccountToken
			}
			if sa != tc.wantSA || token != (tc.wantSA != "") {
				t.Errorf("step's account %q, token %v; want %q, %v", sa, token, tc.wantSA, tc.wantSA != "")
			}
		})
	}
}
