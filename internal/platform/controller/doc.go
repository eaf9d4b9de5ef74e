// Package controller fulfils promises and resource requests: it runs their Kratix workflows (configure on create,
// update and reconcile, delete before removal) pipeline by pipeline through the run engine, merges what the
// pipelines leave in their metadata into the object's status, and writes their output to the state stores of the
// destinations schedule picks, recording in the status where it went.
//
// It is level-based: everything it knows is in the stored object's status (status.kratix.workflows: the
// generation, promise generation and round the pipelines run for, each pipeline's phase and attempts;
// status.kratix.outputs: what was written where; status.kratix.deletionTimestamp: a delete asked for), so any
// replica may reconcile any object and a restart resumes where the last process stopped. Runs are started with
// idempotency keys derived from (object uid, action, generation, round, pipeline, attempt): a pipeline started twice
// by two replicas, or again after a crash, runs once.
//
// It implements httpapi.PromiseReconciler; the server wires one in and runs it. It never imports a store or
// executor backend, and never runs a pipeline itself: pipelines are ordinary workflow runs.
package controller
