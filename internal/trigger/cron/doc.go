// Package cron fires cron jobs: it parses their schedules (with github.com/netresearch/go-cron, as a parser only)
// and runs the loop that sleeps until the earliest next time and fires each scheduled time through
// trigger.Firer, with an idempotency key derived from the cron job and the time, so that each time fires once
// across restarts and across servers sharing a PostgreSQL store, with no leader election.
//
// It must never start anything except through trigger.Firer, as the cron job's owner.
package cron
