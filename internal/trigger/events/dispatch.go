package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/imagepolicy"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/trigger"
)

// Store is the slice of the store the dispatcher needs.
type Store interface {
	store.CloudEvents
	ListEventRules(ctx context.Context) ([]store.EventRuleSet, error)
	EventRulesVersion(ctx context.Context) (int64, error)
	ListEventRulesVersion(ctx context.Context) ([]store.EventRuleSet, int64, error)
	GetRun(ctx context.Context, id string) (store.Run, error)
	GetJob(ctx context.Context, id string) (store.Job, error)
}

// Firer fires a rule's action as its owner; *trigger.Firer implements it.
type Firer interface {
	Fire(ctx context.Context, f trigger.Firing) (trigger.Fired, error)
}

// Runs waits for runs; *runs.Engine implements it.
type Runs interface {
	// Await returns the run once final, or as it is after max or when ctx ends.
	Await(ctx context.Context, id string, max time.Duration) (store.Run, error)
}

// Emitter hands the events runplane produces (Keptn's .started and .finished answers) to whoever sends events
// out (the event sinks' outbox). Emit is called after the event is stored, at least once per event: an event
// emitted again has the same source and id. It must not block for long.
type Emitter interface {
	Emit(ctx context.Context, e api.Event) error
}

// Defaults for Options.
const (
	DefaultSource    = "runplane"
	DefaultRetention = 7 * 24 * time.Hour
	DefaultPoll      = 2 * time.Second
	batch            = 100
	parallel         = 8 // events of a batch dispatched at once
)

// Options tune a Dispatcher. The zero value works.
type Options struct {
	// Source is the source of the events runplane produces; "" means DefaultSource.
	Source string
	// Retention is how long events are kept (received ones once dispatched); 0 means DefaultRetention.
	Retention time.Duration
	// Poll is how often the store is read for events other replicas accepted; 0 means DefaultPoll.
	Poll time.Duration
	// Images is the image allowlist every task's image must pass; nil allows all.
	Images *imagepolicy.Allowlist
	// AllowPrivileged lets tasks ask for a privileged securityContext; otherwise their action is refused.
	AllowPrivileged bool
	// Emitter receives the events produced; nil: they are only stored.
	Emitter Emitter
	// Runs waits for runs to end (for .finished answers); nil: the store is read every Poll.
	Runs Runs
	// Repos reads tasks' files and rule sets' configs from their runners' repositories; nil: tasks with files and
	// rule sets with a path are answered errored.
	Repos  Repositories
	Now    func() time.Time
	Logger *slog.Logger
}

// Dispatcher accepts events and dispatches them to the event rules. Create it with NewDispatcher and run it with
// Run; Accept and Dispatch are safe for concurrent use and work before Run starts (what they store is
// dispatched once Run runs).
type Dispatcher struct {
	st    Store
	firer Firer
	opts  Options
	log   *slog.Logger
	wake  chan struct{}
	rules rules

	mu       sync.Mutex
	tracking map[string]bool // answer bases whose run is being waited for
	wg       sync.WaitGroup
}

// NewDispatcher returns a dispatcher over st firing actions through f.
func NewDispatcher(st Store, f Firer, opts Options) *Dispatcher {
	if opts.Source == "" {
		opts.Source = DefaultSource
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{st: st, firer: f, opts: opts, log: log, wake: make(chan struct{}, 1), tracking: map[string]bool{}}
}

// Accept stores received events before anything else happens to them, and answers for each whether it was new
// or a duplicate of a stored one (same source and id: stored once, dispatched once). An event whose actions can
// start at once is stored dispatched, with their runs (accept.go); the others are dispatched by Run.
func (d *Dispatcher) Accept(ctx context.Context, evs []api.Event) ([]api.EventAccepted, error) {
	out := make([]api.EventAccepted, 0, len(evs))
	now := d.opts.Now().UTC()
	queued := false
	for _, e := range evs {
		e.Produced, e.DispatchTime, e.ReceiveTime = false, nil, now
		acc, done, err := d.acceptDispatched(ctx, e)
		if err != nil {
			return out, err
		}
		if done {
			out = append(out, acc)
			continue
		}
		_, created, err := d.st.CreateEvent(ctx, e)
		if err != nil {
			return out, fmt.Errorf("accept event %q from %q: %w", e.ID, e.Source, err)
		}
		queued = queued || created
		out = append(out, api.EventAccepted{ID: e.ID, Source: e.Source, Duplicate: !created})
	}
	if queued {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
	return out, nil
}

// Run dispatches stored events as they come (and every Poll, for those other replicas stored), waits for the
// runs of .triggered events to end to answer them (those of an earlier process too), and prunes events past
// their retention. It returns when ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	defer d.wg.Wait()
	if err := d.recoverAnswers(ctx); err != nil && ctx.Err() == nil {
		d.log.Warn("recover pending answers", "err", err)
	}
	d.prune(ctx)
	tick := time.NewTicker(d.opts.Poll)
	defer tick.Stop()
	prune := time.NewTicker(min(time.Hour, d.opts.Retention/10+time.Second))
	defer prune.Stop()
	for {
		if err := d.Dispatch(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("dispatch events", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-tick.C:
		case <-prune.C:
			d.prune(ctx)
		}
	}
}

func (d *Dispatcher) prune(ctx context.Context) {
	n, err := d.st.PruneEvents(ctx, d.opts.Now().Add(-d.opts.Retention))
	if err != nil && ctx.Err() == nil {
		d.log.Warn("prune events", "err", err)
	} else if n > 0 {
		d.log.Info("pruned events", "count", n)
	}
}

// Dispatch dispatches every stored event not dispatched yet, in batches taken oldest first (the events of a
// batch up to 8 at once, so in no promised order between them), and
// marks those whose actions were all fired dispatched, together once the batch is done. An event whose dispatch fails for a passing reason (the store) stays to dispatch; firing
// again is harmless (each firing's key makes it start one run).
func (d *Dispatcher) Dispatch(ctx context.Context) error {
	for {
		pending, err := d.st.UndispatchedEvents(ctx, batch)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			return nil
		}
		sets, err := d.currentRules(ctx)
		if err != nil {
			return err
		}
		// The events of a batch are dispatched side by side: each firing is independent (its own key), and one
		// at a time the dispatcher would wait on the store for every run it starts.
		var (
			mu     sync.Mutex
			failed error
			done   = make([]store.EventKey, 0, len(pending))
			wg     sync.WaitGroup
			slots  = make(chan struct{}, parallel)
		)
		for _, ev := range pending {
			slots <- struct{}{}
			wg.Go(func() {
				defer func() { <-slots }()
				err := d.dispatch(ctx, sets, ev)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failed = errors.Join(failed, fmt.Errorf("event %q from %q: %w", ev.ID, ev.Source, err))
					return
				}
				done = append(done, store.EventKey{Source: ev.Source, ID: ev.ID})
			})
		}
		wg.Wait()
		// The batch's dispatched events are marked together, in one write: one stopped before this is dispatched
		// again, which starts nothing twice (each firing's key).
		if err := d.st.MarkEventsDispatched(ctx, done, d.opts.Now().UTC()); err != nil {
			failed = errors.Join(failed, err)
		}
		if failed != nil || len(pending) < batch {
			return failed
		}
	}
}

// dispatch fires every action of every rule set that handles ev.
func (d *Dispatcher) dispatch(ctx context.Context, sets []store.EventRuleSet, ev api.Event) error {
	doc := Document(ev)
	var failed error
	for _, rs := range sets {
		rs, msg := d.config(ctx, rs, ev)
		if msg != "" {
			// The rules are in a file that cannot be read or parsed at this commit: a .triggered event is answered
			// errored, as the job-executor does when told to (ALWAYS_SEND_FINISHED_EVENT).
			d.log.Warn("event rules not read", "rules", rs.Name, "path", rs.Path, "event", ev.ID, "why", msg)
			if IsTriggered(ev.Type) {
				base := AnswerBase(rs.ID + "\n" + ev.Source + "\n" + ev.ID + "\nconfig")
				d.produce(ctx, Started(ev, base, "", d.opts.Source, d.opts.Now()))
				d.produce(ctx, Errored(ev, base, d.opts.Source, d.opts.Now(), msg))
			}
			continue
		}
		for _, i := range Match(rs.EventRules, ev.Type, doc) {
			if err := d.fire(ctx, rs, i, ev, doc); err != nil {
				failed = errors.Join(failed, err)
			}
		}
	}
	return failed
}

// fire starts action i of rs for ev as one run, and answers a .triggered event unless the action is silent. An
// action that cannot run (a refused image or privilege, a value missing from the event, an owner without the
// right) is answered errored and not retried; an error returned is passing and the event is dispatched again.
func (d *Dispatcher) fire(ctx context.Context, rs store.EventRuleSet, i int, ev api.Event, doc map[string]any) error {
	a := rs.Actions[i]
	key := actionKey(ev, i)
	if rs.Workflow != "" {
		return d.fireWorkflow(ctx, rs, key, ev, doc)
	}
	base := AnswerBase(rs.ID + "\n" + key)
	answers := IsTriggered(ev.Type) && !a.Silent
	log := d.log.With("rules", rs.Name, "action", a.Name, "event", ev.ID, "source", ev.Source)
	refuse := func(msg string) error {
		log.Warn("event action not run", "why", msg)
		if answers {
			d.produce(ctx, Started(ev, base, "", d.opts.Source, d.opts.Now()))
			d.produce(ctx, Errored(ev, base, d.opts.Source, d.opts.Now(), msg))
		}
		return nil
	}
	if msg := d.refusal(a); msg != "" {
		return refuse(msg)
	}
	w, err := Build(rs.EventRules, i, ev, doc)
	if err != nil {
		return refuse(fmt.Sprintf("Error while creating job: %v", err))
	}
	files, msg := d.taskFiles(ctx, rs, a, ev)
	if msg != "" {
		return refuse("Error while creating job: " + msg)
	}
	for j := range w.Steps {
		w.Steps[j].Files = files[j]
	}
	fired, err := d.firer.Fire(ctx, actionFiring(rs, i, ev, &w))
	var invalid *api.InvalidError
	switch {
	case errors.Is(err, trigger.ErrRefused), errors.As(err, &invalid):
		return refuse(fmt.Sprintf("Error while creating job: %v", err))
	case err != nil:
		return err
	}
	log.Debug("event action started", "run", fired.Run, "created", fired.Created) // see acceptDispatched
	if answers {
		d.produce(ctx, Started(ev, base, fired.Run, d.opts.Source, d.opts.Now()))
		d.track(ctx, base, ev, fired.Run)
	}
	return nil
}

// refusal says why action a may not run on this server, "" when it may: Keptn's image allowlist message, or a
// privileged task when privileged tasks are not allowed.
func (d *Dispatcher) refusal(a api.KeptnAction) string {
	for _, t := range a.Tasks {
		if err := d.opts.Images.Check(t.Image); err != nil {
			return fmt.Sprintf("Forbidden: Image %s does not match configured image allowlist.\n", t.Image)
		}
		if p := t.SecurityContext.Privileged; p != nil && *p && !d.opts.AllowPrivileged {
			return fmt.Sprintf("Forbidden: task %q asks for a privileged container, which this server does not allow", t.Name)
		}
	}
	return ""
}

// produce stores an event runplane made and emits it when it is new.
func (d *Dispatcher) produce(ctx context.Context, e api.Event) {
	e.Produced = true
	e.ReceiveTime = d.opts.Now().UTC()
	_, created, err := d.st.CreateEvent(ctx, e)
	if err != nil {
		d.log.Warn("store produced event", "id", e.ID, "type", e.Type, "err", err)
		return
	}
	if created && d.opts.Emitter != nil {
		if err := d.opts.Emitter.Emit(ctx, e); err != nil {
			d.log.Warn("emit produced event", "id", e.ID, "type", e.Type, "err", err)
		}
	}
}

// fireWorkflow starts a run of the workflow whose event trigger rs is, its parameters bound from the event (its
// attributes, extensions and data, as JSON: doc). A run refused (the owner's rights, a binding that fails over
// this event) or skipped (the trigger's when) is logged and not retried; Keptn answers are not produced.
func (d *Dispatcher) fireWorkflow(ctx context.Context, rs store.EventRuleSet, key string, ev api.Event, doc map[string]any) error {
	log := d.log.With("rules", rs.Name, "workflow", rs.Workflow, "event", ev.ID, "source", ev.Source)
	payload, err := json.Marshal(doc)
	if err != nil {
		log.Warn("workflow trigger not run", "why", err)
		return nil
	}
	fired, err := d.firer.Fire(ctx, trigger.Firing{
		Target:    trigger.Target{Workflow: rs.Workflow},
		OwnerID:   rs.OwnerID,
		TriggerID: rs.ID,
		Key:       key,
		Payload:   payload,
		Trigger:   api.Trigger{Kind: api.TriggerEvent, Name: rs.Name, Delivery: ev.ID, Source: ev.Source},
	})
	var invalid *api.InvalidError
	switch {
	case errors.Is(err, trigger.ErrSkipped):
		log.Info("workflow trigger skipped", "why", err)
		return nil
	case errors.Is(err, trigger.ErrRefused), errors.As(err, &invalid), errors.Is(err, runs.ErrWorkflowNotFound):
		log.Warn("workflow trigger not run", "why", err)
		return nil
	case err != nil:
		return err
	}
	log.Info("workflow trigger started a run", "run", fired.Run, "created", fired.Created)
	return nil
}
