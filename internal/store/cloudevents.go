package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/runplane/runplane/api"
)

// EventFilter selects events for ListEvents; zero values select everything and the conditions combine (AND).
type EventFilter struct {
	Type   string
	Source string
	// Sources, when not nil, keeps only events of these sources (none when empty): what a caller may read.
	Sources []string
	// Since keeps events received at or after it.
	Since  time.Time
	Limit  int // 0: no limit
	Offset int
}

// EventKey names a stored event: the CloudEvent's source and id.
type EventKey struct{ Source, ID string }

// CloudEvents stores CloudEvents received and produced, keyed by (source, id), until they are pruned.
type CloudEvents interface {
	// CreateEvent stores e unless an event with its source and id is stored: then it stores nothing and returns
	// that one with created false. A zero ReceiveTime becomes now.
	CreateEvent(ctx context.Context, e api.Event) (stored api.Event, created bool, err error)
	// GetEvent returns the event of source and id; ErrNotFound if absent. An empty source returns the event
	// with that id received last.
	GetEvent(ctx context.Context, source, id string) (api.Event, error)
	// ListEvents returns events newest first (by ReceiveTime, then source and id) and how many match without
	// Limit/Offset; never nil.
	ListEvents(ctx context.Context, f EventFilter) (events []api.Event, total int, err error)
	// UndispatchedEvents returns up to limit received (not produced) events not yet marked dispatched, oldest
	// first; never nil.
	UndispatchedEvents(ctx context.Context, limit int) ([]api.Event, error)
	// MarkEventDispatched records that the event was dispatched at; ErrNotFound if absent.
	MarkEventDispatched(ctx context.Context, source, id string, at time.Time) error
	// MarkEventsDispatched records that the events of keys were dispatched at, in one transaction; keys of
	// events that are absent (pruned meanwhile) are passed over.
	MarkEventsDispatched(ctx context.Context, keys []EventKey, at time.Time) error
	// PruneEvents deletes the events received before before, except received ones still to dispatch, and says
	// how many it deleted.
	PruneEvents(ctx context.Context, before time.Time) (int, error)
	// CreateDispatchedEvent stores a received event already dispatched (its DispatchTime set) together with what
	// dispatching it started — each of runs with its jobs, as CreateRunWithJobs stores them, maxQueued applying
	// to each run's owner — in one transaction, and only while the event rule sets' version is still
	// rulesVersion (EventRulesVersion). If an event of e's source and id is stored, it stores nothing and returns
	// that one with created false, whatever the version. A run whose idempotency key is taken is not stored again: that run is
	// returned in its place (runCreated false). Errors, with nothing stored: ErrRulesChanged, an error wrapping
	// ErrQueueFull, ErrConflict when a run's or a job's id is taken.
	CreateDispatchedEvent(ctx context.Context, e api.Event, rulesVersion int64, runs []RunWithJobs, maxQueued int) (
		stored api.Event, created bool, started []Run, runCreated []bool, err error)
}

// ErrRulesChanged: the event rule sets changed since the version a caller read them at.
var ErrRulesChanged = errors.New("store: event rules changed")

// RunWithJobs is a new run and the jobs of its first steps, stored together (CreateRunWithJobs).
type RunWithJobs struct {
	Run  Run
	Jobs []Job
}

// EventRuleSet is an event rule set as stored: the API view plus its owner's id and its own id, which stays for
// good (a later set of the same name gets another).
type EventRuleSet struct {
	api.EventRules
	ID      string
	OwnerID string
}

// EventRules stores event rule sets by name.
type EventRules interface {
	// CreateEventRules stores a new rule set with a new ID (set in the result); ErrConflict if the name is taken.
	CreateEventRules(ctx context.Context, r EventRuleSet) (EventRuleSet, error)
	// GetEventRules returns a rule set; ErrNotFound if absent.
	GetEventRules(ctx context.Context, name string) (EventRuleSet, error)
	// ListEventRules returns every rule set ordered by name; never nil.
	ListEventRules(ctx context.Context) ([]EventRuleSet, error)
	// EventRulesVersion returns the rule sets' version: a number that every change to any rule set (create,
	// update, delete) raises, in the transaction of the change.
	EventRulesVersion(ctx context.Context) (int64, error)
	// ListEventRulesVersion is ListEventRules with the version (EventRulesVersion) the rule sets listed are at.
	ListEventRulesVersion(ctx context.Context) ([]EventRuleSet, int64, error)
	// UpdateEventRules replaces the rule set named r.Name (its actions, owner and flags; it keeps its ID);
	// ErrNotFound if absent.
	UpdateEventRules(ctx context.Context, r EventRuleSet) (EventRuleSet, error)
	// DeleteEventRules removes a rule set; ErrNotFound if absent.
	DeleteEventRules(ctx context.Context, name string) error
}

// ListRulesAtVersion lists the rule sets with list and the version they are at, read with version before and
// after the list: the same both times, no change was committed in between (each raises the version with it),
// so the list is the rule sets at that version; else it reads again (ErrRulesChanged after a few tries).
// Backends implement ListEventRulesVersion with it.
func ListRulesAtVersion(ctx context.Context, version func(context.Context) (int64, error),
	list func(context.Context) ([]EventRuleSet, error)) ([]EventRuleSet, int64, error) {
	for range 10 {
		before, err := version(ctx)
		if err != nil {
			return nil, 0, err
		}
		sets, err := list(ctx)
		if err != nil {
			return nil, 0, err
		}
		after, err := version(ctx)
		if err != nil {
			return nil, 0, err
		}
		if before == after {
			return sets, before, nil
		}
	}
	return nil, 0, fmt.Errorf("%w: changing while listed", ErrRulesChanged)
}
