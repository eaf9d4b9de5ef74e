package controller_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/controller"
)

// TestCheckPromisePipelineNamespace: with a fixed job namespace (Kubernetes), a promise whose pipelineNamespace
// names another is refused with a 400 that names the field, the value and the namespace pipelines run in; one
// naming the job namespace, or none, is accepted. Without one (embedded), any namespace is accepted.
func TestCheckPromisePipelineNamespace(t *testing.T) {
	tests := []struct {
		name, jobNS, pipelineNS string
		want                    string // "" for accepted
	}{
		{"kubernetes, another namespace", "runplane-jobs", "team-a", `pipelineNamespace: Unsupported value: "team-a": this server runs every pipeline in its job namespace "runplane-jobs"`},
		{"kubernetes, the job namespace", "runplane-jobs", "runplane-jobs", ""},
		{"kubernetes, none", "runplane-jobs", "", ""},
		{"embedded, any", "", "team-a", ""},
	}
	e := newEnv(t, false)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := e.controller(t, controller.Options{JobNamespace: tc.jobNS})
			p := api.Promise{Metadata: api.ObjectMeta{Name: "cache"},
				Spec: api.PromiseSpec{Workflows: api.PromiseWorkflows{Config: api.WorkflowsConfig{PipelineNamespace: tc.pipelineNS}}}}
			err := c.CheckPromise(t.Context(), p)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckPromise = %v, want accepted", err)
				}
				return
			}
			var ie *api.InvalidError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckPromise = %v, want an *api.InvalidError containing %q", err, tc.want)
			}
		})
	}
}
