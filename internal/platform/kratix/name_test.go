package kratix

import (
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

func TestWorkflowName(t *testing.T) {
	long := strings.Repeat("a", 60)
	tests := []struct {
		name     string
		target   Target
		pipeline string
		want     string
	}{
		{"promise", PromiseTarget("cache", ActionConfigure), "", "kratix-cache-configure"},
		{"request", ResourceTarget("cache", ActionDelete, "g/v1", "Cache", "caches", "web", "team-a", false), "", "kratix-cache-team-a-web-delete"},
		{"cluster-scoped request", ResourceTarget("tenant", ActionConfigure, "g/v1", "Tenant", "tenants", "acme", "x", true), "", "kratix-tenant-acme-configure"},
		{"one pipeline", PromiseTarget("cache", ActionConfigure), "deps", "kratix-cache-configure-deps"},
		{"long", ResourceTarget("cache", ActionConfigure, "g/v1", "Cache", "caches", long, "team-a", false), "", ""},
	}
	for _, tt := range tests {
		got := WorkflowName(tt.target, tt.pipeline)
		if err := api.ValidateName(got); err != nil {
			t.Errorf("%s: WorkflowName = %q: %v", tt.name, got, err)
		}
		if tt.want != "" && got != tt.want {
			t.Errorf("%s: WorkflowName = %q, want %q", tt.name, got, tt.want)
		}
	}
	a := WorkflowName(ResourceTarget("cache", ActionConfigure, "g/v1", "Cache", "caches", long+"1", "team-a", false), "")
	b := WorkflowName(ResourceTarget("cache", ActionConfigure, "g/v1", "Cache", "caches", long+"2", "team-a", false), "")
	if a == b || len(a) != 63 {
		t.Errorf("long names %q and %q: want distinct, 63 characters", a, b)
	}
}
