// Package workflow is the pure core of workflows: it reads a workflow definition (runplane's manifest or Relay's
// workflow file, Relay's YAML tags included: Parse), checks it (Compile, Validate), evaluates its ${…} templates
// and when conditions with CEL under a cost limit (Plan.Resolve), and decides how a run advances from its stored
// state (Plan.Next): which steps to submit, skip, fail or cancel, and when the run ends.
//
// It must never do I/O: no store, no HTTP, no clock, no files. What it needs from the world comes in as
// arguments (State, Vars, Refs), so any replica given the same stored state decides the same thing.
package workflow
