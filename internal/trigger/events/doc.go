// Package events takes CloudEvents in and runs Keptn job-executor rules on them. Accepted events are stored first
// (deduplicated by source and id); a Dispatcher, which any replica may run and which resumes after a restart from
// what is stored, matches each stored event against the event rule sets (Keptn's job/config.yaml v2) and starts
// each matching action's tasks, in order, as one workflow run through trigger.Firer as the rule set's owner, with
// an idempotency key of (rule set, event source, event id, action). An event whose actions can start at once (the
// rule sets held in memory, nothing to read or answer) is stored already dispatched, with its runs and their first
// jobs, in the transaction that accepts it (accept.go). For Keptn's *.triggered events it produces the
// .started and .finished answers (unless the action is silent), stores them and hands them to an Emitter.
//
// It never runs anything itself and never widens anyone's rights: a rule set starts only what its owner could
// start through the API when the event is dispatched.
package events
