// Package trigger fires work no one submits by hand: cron jobs at their scheduled times, webhook deliveries and
// events matched by rules. A firing goes through the same entry points as the REST API (the job engine's Submit,
// the workflow engine's Start) as the trigger's owner, with the owner's rights at fire time, and with an
// idempotency key derived from what fired, so every replica may try and one wins: no leader election.
//
// It must never run anything itself, nor widen anyone's rights: a trigger can start only what its owner could
// start through the API at that moment.
package trigger
