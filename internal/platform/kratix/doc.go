// Package kratix is Kratix's pipeline contract, pure: what a pipeline's containers are given (object.yaml as
// Kratix's reader writes it, the KRATIX_* environment), what runplane makes of what they leave behind (status.yaml
// merged into the object's status, workflow-control.yaml's suspend and retry, the status of each pipeline as Kratix
// records it in status.kratix.workflows.pipelines), and the inline workflow that runs a promise's or a resource
// request's configure or delete pipelines through the ordinary run and job engines: one step per pipeline, each
// one job of the pipeline's containers.
//
// It never does I/O: no store, no HTTP, no files, no clock (callers pass now). A controller reads the object,
// calls Build and runs the workflow, then feeds each pipeline's job end to AfterPipeline and stores the status it
// returns.
package kratix
