// Package kratix is Kratix's pipeline contract, pure: what a pipeline's containers are given (object.yaml as
// Kratix's reader writes it, the KRATIX_* environment), what runplane makes of what they leave behind (status.yaml
// merged into the object's status, workflow-control.yaml's suspend and retry, the status of each pipeline as Kratix
// records it in status.kratix.workflows.pipelines), and the inline workflow that runs a promise's or a resource
// request's configure or delete pipelines through the ordinary run and job engines: one step per pipeline, each
// one job of the pipeline's containers.
//
// It never does I/O: no store, no HTTP, no files, no clock (callers pass now).
//
// A controller runs a workflow pipeline by pipeline, as Kratix does (each pipeline reads the object as the ones
// before it left it, and a pipeline may suspend the rest):
//
//	ps, _ := kratix.ToRun(t.Action, pipelines)
//	names := kratix.Names(ps)
//	status = kratix.ResetPipelines(status, t, names, now()) // from the first; a resume starts at SuspendedPipeline
//	for i := range ps {
//		status = kratix.StartPipeline(status, t, names[i], now()) // store it, then build from the stored object
//		w, _ := kratix.BuildPipeline(kratix.Input{Target: t, Object: object, Pipelines: ps}, i)
//		// run w (runs.Request{Workflow: w.Name, Definition: &w}); when its job ends:
//		a := kratix.AfterPipeline(status, t, names, i, kratix.JobEnd{Succeeded: ..., Reason: job.Reason,
//			StatusYAML: job.Metadata.Status, ControlYAML: job.Metadata.WorkflowControl}, policy, now())
//		status = a.Status // store it; then by a.Do: Continue (next, or done after the last), Stop or GiveUp
//		                  // (failed), Suspend (wait for resume), Retry (run pipeline i again at a.RetryAt)
//	}
//
// Build makes the whole workflow as one run instead (each pipeline a step depending on the one before), for a
// caller that needs neither.
package kratix
