package store

import (
	"context"
	"time"

	"github.com/runplane/runplane/api"
)

// EventSinks stores the receivers of events out, by name.
type EventSinks interface {
	// CreateEventSink stores a new sink; ErrConflict if the name is taken. The caller validates it.
	CreateEventSink(ctx context.Context, s api.EventSink) error
	// GetEventSink returns a sink; ErrNotFound if absent.
	GetEventSink(ctx context.Context, name string) (api.EventSink, error)
	// ListEventSinks returns every sink ordered by name; never nil.
	ListEventSinks(ctx context.Context) ([]api.EventSink, error)
	// UpdateEventSink replaces the sink named s.Name; ErrNotFound if absent. Deliveries still due go to its new URL.
	UpdateEventSink(ctx context.Context, s api.EventSink) error
	// DeleteEventSink removes a sink and its deliveries still due; ErrNotFound if absent.
	DeleteEventSink(ctx context.Context, name string) error
}

// Kinds of outbox events: what an event is about, when the store wrote it itself.
const (
	// EventOfJob and EventOfRun: the database wrote the event when a job's or run's status changed (to running
	// or a final status), in the transaction of that change. Subject is the job or run; the CloudEvent is built
	// from it when the event is fanned out.
	EventOfJob = "job"
	EventOfRun = "run"
)

// OutboxEvent is an event waiting to be, or being, delivered to the sinks.
type OutboxEvent struct {
	// Seq orders events: the order they were stored in, roughly (PostgreSQL hands out numbers before commits).
	Seq int64
	// ID is the event's stable id, unique in the outbox: storing an event whose id is there stores nothing.
	// The database's own events are "<kind>/<id>/<transition>", e.g. "job/hello-ab3k9/succeeded".
	ID string
	// Kind is EventOfJob or EventOfRun for the database's own events, "" for one appended whole (AppendEvent).
	Kind    string
	Subject string
	Type    string
	Time    time.Time
	// Event is the CloudEvent in structured JSON; nil for a job or run event before it was fanned out.
	Event []byte
}

// FannedEvent is an event as FanOut stores it: its CloudEvent and the sinks it goes to.
type FannedEvent struct {
	Seq   int64
	Event []byte
	Sinks []string
}

// Delivery is an event due to one sink.
type Delivery struct {
	Sink  string
	Event OutboxEvent
	// Attempts counts the failed attempts before.
	Attempts int
}

// Outbox holds events out until every sink they match has them: appended in the transaction of what they
// report, fanned out to the sinks matching them, then delivered to each sink at least once.
//
// Jobs and runs write their own events: a job's or run's change of status to running, succeeded, failed or
// cancelled stores an event in the same transaction (a database trigger), while at least one sink exists. So no
// committed change is ever without its event, and no event is stored for a change that rolled back.
type Outbox interface {
	// AppendEvent stores e (whole: Kind "", Event set) unless no sink exists or an event of its id was stored
	// before; created says whether it stored it.
	AppendEvent(ctx context.Context, e OutboxEvent) (created bool, err error)
	// PendingEvents returns up to n events not fanned out yet, by Seq; never nil.
	PendingEvents(ctx context.Context, n int) ([]OutboxEvent, error)
	// FanOut stores each event's CloudEvent and creates its deliveries to its sinks, due at now — for the events
	// no one fanned out yet: of several servers fanning out one event, one does it. Unknown Seqs are skipped.
	FanOut(ctx context.Context, now time.Time, evs []FannedEvent) error
	// ClaimDeliveries leases up to n deliveries of sink that are due (not delivered, next attempt at or before
	// now, no lease or an ended one) to l, and returns them by Seq; never nil. Like ClaimJob, it hands each to
	// one caller, even across processes.
	ClaimDeliveries(ctx context.Context, sink string, now time.Time, l Lease, n int) ([]Delivery, error)
	// DeliveryDone records that sink received event seq at t. ErrNotFound if there is no such delivery.
	DeliveryDone(ctx context.Context, sink string, seq int64, t time.Time) error
	// RetryDelivery releases a claimed delivery, due again at next. A failure ("" for none: the delivery was not
	// attempted) counts an attempt and is kept as its last error. ErrNotFound if there is no such delivery.
	RetryDelivery(ctx context.Context, sink string, seq int64, next time.Time, failure string) error
	// PruneOutbox deletes the events fanned out before before whose every delivery is done, with their
	// deliveries, and returns how many events it deleted.
	PruneOutbox(ctx context.Context, before time.Time) (int, error)
	// EventBacklog returns how many deliveries each sink has still to receive (sinks with none are absent) and
	// how many events are not fanned out yet.
	EventBacklog(ctx context.Context) (due map[string]int, pending int, err error)
}
