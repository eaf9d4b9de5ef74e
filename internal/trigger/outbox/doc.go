// Package outbox sends runplane's events out: CloudEvents 1.0, structured mode, POSTed to every event sink whose
// type prefixes match, at least once.
//
// Events enter the store's outbox in the transaction of what they report: jobs and runs write theirs themselves
// (a database trigger on their status, see store.Outbox), other producers call Emit. Outbox.Run fans each event
// out to the sinks it matches, then delivers each sink's share in order, with exponential backoff per sink when
// it fails; deliveries are claimed with leases, so replicas sharing a store never send one at the same time, and
// a restart resumes where the last run stopped. Every event has a stable id ("job/<id>/succeeded") that
// receivers deduplicate on.
//
// It must never slow the job engine (it reads the store, never waits for the engine, and a dead sink holds up
// only its own goroutine), and never log, store or answer a header's secret value.
package outbox
