package kratix

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

func TestEnv(t *testing.T) {
	tests := []struct {
		name     string
		target   Target
		pipeline string
		want     api.EnvVars
	}{
		{
			name:     "resource request, namespaced",
			target:   ResourceTarget("cache", ActionConfigure, "marketplace.example.com/v1alpha1", "Cache", "caches", "team-a-cache", "team-a", false),
			pipeline: "instance-configure",
			want: api.EnvVars{
				{Name: "KRATIX_WORKFLOW_ACTION", Value: "configure"},
				{Name: "KRATIX_WORKFLOW_TYPE", Value: "resource"},
				{Name: "KRATIX_PROMISE_NAME", Value: "cache"},
				{Name: "KRATIX_PIPELINE_NAME", Value: "instance-configure"},
				{Name: "KRATIX_OBJECT_KIND", Value: "Cache"},
				{Name: "KRATIX_OBJECT_GROUP", Value: "marketplace.example.com"},
				{Name: "KRATIX_OBJECT_VERSION", Value: "v1alpha1"},
				{Name: "KRATIX_OBJECT_NAME", Value: "team-a-cache"},
				{Name: "KRATIX_OBJECT_NAMESPACE", Value: "team-a"},
				{Name: "KRATIX_CRD_PLURAL", Value: "caches"},
				{Name: "KRATIX_CLUSTER_SCOPED", Value: "false"},
			},
		},
		{
			name:     "resource request, cluster-scoped API: no namespace",
			target:   ResourceTarget("tenant", ActionDelete, "platform.example.com/v1", "Tenant", "tenants", "acme", "default", true),
			pipeline: "teardown",
			want: api.EnvVars{
				{Name: "KRATIX_WORKFLOW_ACTION", Value: "delete"},
				{Name: "KRATIX_WORKFLOW_TYPE", Value: "resource"},
				{Name: "KRATIX_PROMISE_NAME", Value: "tenant"},
				{Name: "KRATIX_PIPELINE_NAME", Value: "teardown"},
				{Name: "KRATIX_OBJECT_KIND", Value: "Tenant"},
				{Name: "KRATIX_OBJECT_GROUP", Value: "platform.example.com"},
				{Name: "KRATIX_OBJECT_VERSION", Value: "v1"},
				{Name: "KRATIX_OBJECT_NAME", Value: "acme"},
				{Name: "KRATIX_OBJECT_NAMESPACE", Value: ""},
				{Name: "KRATIX_CRD_PLURAL", Value: "tenants"},
				{Name: "KRATIX_CLUSTER_SCOPED", Value: "true"},
			},
		},
		{
			name:     "promise workflow: the Promise, cluster-scoped, plural promises",
			target:   PromiseTarget("cache", ActionConfigure),
			pipeline: "promise-configure",
			want: api.EnvVars{
				{Name: "KRATIX_WORKFLOW_ACTION", Value: "configure"},
				{Name: "KRATIX_WORKFLOW_TYPE", Value: "promise"},
				{Name: "KRATIX_PROMISE_NAME", Value: "cache"},
				{Name: "KRATIX_PIPELINE_NAME", Value: "promise-configure"},
				{Name: "KRATIX_OBJECT_KIND", Value: "Promise"},
				{Name: "KRATIX_OBJECT_GROUP", Value: "platform.kratix.io"},
				{Name: "KRATIX_OBJECT_VERSION", Value: "v1alpha1"},
				{Name: "KRATIX_OBJECT_NAME", Value: "cache"},
				{Name: "KRATIX_OBJECT_NAMESPACE", Value: ""},
				{Name: "KRATIX_CRD_PLURAL", Value: "promises"},
				{Name: "KRATIX_CLUSTER_SCOPED", Value: "true"},
			},
		},
		{
			name:     "core group",
			target:   Target{Type: TypeResource, Action: ActionConfigure, Promise: "p", APIVersion: "v1", Kind: "K", Name: "n", Namespace: "ns", Plural: "ks"},
			pipeline: "p1",
			want: api.EnvVars{
				{Name: "KRATIX_WORKFLOW_ACTION", Value: "configure"}, {Name: "KRATIX_WORKFLOW_TYPE", Value: "resource"},
				{Name: "KRATIX_PROMISE_NAME", Value: "p"}, {Name: "KRATIX_PIPELINE_NAME", Value: "p1"},
				{Name: "KRATIX_OBJECT_KIND", Value: "K"}, {Name: "KRATIX_OBJECT_GROUP", Value: ""},
				{Name: "KRATIX_OBJECT_VERSION", Value: "v1"}, {Name: "KRATIX_OBJECT_NAME", Value: "n"},
				{Name: "KRATIX_OBJECT_NAMESPACE", Value: "ns"}, {Name: "KRATIX_CRD_PLURAL", Value: "ks"},
				{Name: "KRATIX_CLUSTER_SCOPED", Value: "false"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Env(tt.target, tt.pipeline)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Env (-want +got):\n%s", diff)
			}
			if err := got.Validate("env"); err != nil {
				t.Errorf("Env is not a valid container env: %v", err)
			}
		})
	}
}
