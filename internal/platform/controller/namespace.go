package controller

import (
	"context"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/httpapi"
)

var _ httpapi.PromiseChecker = (*Controller)(nil)

// CheckPromise refuses a promise whose pipelines could not run where it says: Kratix runs every workflow job of a
// promise with spec.workflows.config.pipelineNamespace in that namespace, while runplane's Kubernetes executor
// runs every job in its own job namespace, under the service accounts and Roles it keeps there. Running them
// elsewhere would need those in every such namespace and the server's rights there, so a promise that names
// another namespace is refused when it is saved rather than left to fail at its first pipeline. One that names
// the job namespace itself is accepted; in embedded mode the field has no effect.
func (c *Controller) CheckPromise(_ context.Context, p api.Promise) error {
	ns := p.Spec.Workflows.Config.PipelineNamespace
	if ns == "" || c.opts.JobNamespace == "" || ns == c.opts.JobNamespace {
		return nil
	}
	return api.Invalidf("spec.workflows.config.pipelineNamespace: Unsupported value: %q: this server runs every pipeline "+
		"in its job namespace %q (serve --namespace); name that namespace or leave the field out", ns, c.opts.JobNamespace)
}
