package events

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/trigger"
)

// An event is dispatched as it is accepted, when that can be done in the accepting request without reading
// anything but the rule sets, which the dispatcher holds in memory: the event is stored already dispatched,
// with the runs its matching actions start and their first jobs, in one transaction
// (store.CloudEvents.CreateDispatchedEvent) — where the way below takes two writes (the event; then its runs,
// with the mark that it was dispatched) and a read of the queue and of the rule sets between them. Exactly-once
// is the store's: the transaction stores the event (deduplicated by source and id) with all it starts, or
// nothing; and it commits only while the rule sets are still at the version the dispatcher read them at, so an
// event is never dispatched against rules another request or replica changed meanwhile.
//
// Anything else goes the way it always went — the event stored to dispatch, and the dispatcher's loop
// dispatching it — and so does an event whose store found the rule sets changed, a queue full or an id taken:
// a rule set read from a repository (its path), a task with files, an action to answer (a .triggered event: its
// .started answer, then its run tracked to the .finished one), an action refused here (the image allowlist, a
// privileged task, an owner without the right), a workflow's own event trigger, and a run that cannot be
// prepared to store in one write (runs.ErrNotPrepared).

// Preparer prepares a rule's action as a run without storing it; *trigger.Firer implements it.
type Preparer interface {
	Prepare(ctx context.Context, f trigger.Firing) (runs.Prepared, error)
}

// rules are the rule sets as the dispatcher last read them, at their store version, and their index by event
// type.
type rules struct {
	mu      sync.Mutex
	sets    []store.EventRuleSet
	index   ruleIndex
	version int64
	loaded  bool
}

// cachedRules returns the rule sets as last read, with their index, reading them first if they are not held (or
// were found stale); the store checks the version when it stores what they started.
func (d *Dispatcher) cachedRules(ctx context.Context) ([]store.EventRuleSet, ruleIndex, int64, error) {
	d.rules.mu.Lock()
	defer d.rules.mu.Unlock()
	if !d.rules.loaded {
		if _, _, err := d.loadRules(ctx); err != nil {
			return nil, ruleIndex{}, 0, err
		}
	}
	return d.rules.sets, d.rules.index, d.rules.version, nil
}

// currentRules returns the rule sets as they are now: those held when the store's version is theirs, else read
// again.
func (d *Dispatcher) currentRules(ctx context.Context) ([]store.EventRuleSet, error) {
	v, err := d.st.EventRulesVersion(ctx)
	if err != nil {
		return nil, err
	}
	d.rules.mu.Lock()
	defer d.rules.mu.Unlock()
	if d.rules.loaded && d.rules.version == v {
		return d.rules.sets, nil
	}
	sets, _, err := d.loadRules(ctx)
	return sets, err
}

// loadRules reads the rule sets and their version; d.rules.mu is held.
func (d *Dispatcher) loadRules(ctx context.Context) ([]store.EventRuleSet, int64, error) {
	sets, v, err := d.st.ListEventRulesVersion(ctx)
	if err != nil {
		return nil, 0, err
	}
	d.rules.sets, d.rules.index, d.rules.version, d.rules.loaded = sets, newRuleIndex(sets), v, true
	return sets, v, nil
}

// forgetRules drops the rule sets held if they are at version v: they changed since.
func (d *Dispatcher) forgetRules(v int64) {
	d.rules.mu.Lock()
	defer d.rules.mu.Unlock()
	if d.rules.version == v {
		d.rules.loaded = false
	}
}

// acceptDispatched stores e dispatched, with the runs of the actions it matches, if that can be done now (see
// above); false when e is to be stored to dispatch instead. An error is the store's: nothing was stored.
func (d *Dispatcher) acceptDispatched(ctx context.Context, e api.Event) (api.EventAccepted, bool, error) {
	fp, ok := d.firer.(Preparer)
	if !ok {
		return api.EventAccepted{}, false, nil
	}
	sets, index, version, err := d.cachedRules(ctx)
	if err != nil {
		d.log.Warn("read event rules", "err", err)
		return api.EventAccepted{}, false, nil
	}
	doc := Document(e)
	var prepared []preparedAction
	// Only the rule sets the event's type can match (a rule set with a path among them, always).
	for _, k := range index.candidates(e.Type) {
		rs := sets[k]
		if rs.Path != "" {
			return api.EventAccepted{}, false, nil // its rules are read from a repository, at the event's commit
		}
		for _, i := range Match(rs.EventRules, e.Type, doc) {
			p, ok := d.prepare(ctx, fp, rs, i, e, doc)
			if !ok {
				return api.EventAccepted{}, false, nil
			}
			prepared = append(prepared, preparedAction{Prepared: p, rules: rs.Name, action: rs.Actions[i].Name})
		}
	}
	now := d.opts.Now().UTC()
	e.DispatchTime = &now
	started := make([]store.RunWithJobs, len(prepared))
	maxQueued := 0
	for i, p := range prepared {
		started[i], maxQueued = p.RunWithJobs, p.MaxQueued
	}
	_, created, stored, runCreated, err := d.st.CreateDispatchedEvent(ctx, e, version, started, maxQueued)
	switch {
	case errors.Is(err, store.ErrRulesChanged):
		d.forgetRules(version)
		return api.EventAccepted{}, false, nil
	case errors.Is(err, store.ErrQueueFull), errors.Is(err, store.ErrConflict):
		return api.EventAccepted{}, false, nil
	case err != nil:
		return api.EventAccepted{}, false, fmt.Errorf("accept event %q from %q: %w", e.ID, e.Source, err)
	}
	if created {
		for i, p := range prepared {
			p.Stored(stored[i], runCreated[i])
			// Debug, not Info: an action started is as frequent as the events (a job submitted is not logged
			// either), and the run says what started it (its trigger: rule set, event id and source). At Info,
			// a line per event cost the server a formatted record and a write per request.
			d.log.Debug("event action started", "rules", p.rules, "action", p.action, "event", e.ID, "source", e.Source,
				"run", stored[i].ID, "created", runCreated[i])
		}
	}
	return api.EventAccepted{ID: e.ID, Source: e.Source, Duplicate: !created}, true, nil
}

// preparedAction is an action's run, prepared, and what names the action in the log.
type preparedAction struct {
	runs.Prepared
	rules, action string
}

// prepare prepares action i of rs for ev as fire would start it; false when it is to be fired instead (see
// above).
func (d *Dispatcher) prepare(ctx context.Context, fp Preparer, rs store.EventRuleSet, i int, ev api.Event, doc map[string]any) (runs.Prepared, bool) {
	a := rs.Actions[i]
	if rs.Workflow != "" || (IsTriggered(ev.Type) && !a.Silent) || d.refusal(a) != "" {
		return runs.Prepared{}, false
	}
	for _, t := range a.Tasks {
		if len(t.Files) > 0 {
			return runs.Prepared{}, false
		}
	}
	w, err := Build(rs.EventRules, i, ev, doc)
	if err != nil {
		return runs.Prepared{}, false
	}
	p, err := fp.Prepare(ctx, actionFiring(rs, i, ev, &w))
	if err != nil {
		return runs.Prepared{}, false
	}
	return p, true
}

// actionFiring is the firing of action i of rs for ev, running w.
func actionFiring(rs store.EventRuleSet, i int, ev api.Event, w *api.Workflow) trigger.Firing {
	return trigger.Firing{
		Target:     trigger.Target{Workflow: rs.Name},
		Definition: w,
		OwnerID:    rs.OwnerID,
		TriggerID:  rs.ID,
		Key:        actionKey(ev, i),
		Trigger:    api.Trigger{Kind: api.TriggerEvent, Name: rs.Name, Delivery: ev.ID, Source: ev.Source},
	}
}

// actionKey is the idempotency key of action i's firing for ev (scoped by its rule set's id).
func actionKey(ev api.Event, i int) string { return fmt.Sprintf("%s\n%s\n%d", ev.Source, ev.ID, i) }
