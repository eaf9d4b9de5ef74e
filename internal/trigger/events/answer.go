package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/store"
)

// track waits, in the background, for run to end and then produces the .finished answer (base) to ev. Tracking
// a base already tracked does nothing.
func (d *Dispatcher) track(ctx context.Context, base string, ev api.Event, run string) {
	d.mu.Lock()
	if d.tracking[base] {
		d.mu.Unlock()
		return
	}
	d.tracking[base] = true
	d.mu.Unlock()
	d.wg.Go(func() {
		defer func() {
			d.mu.Lock()
			delete(d.tracking, base)
			d.mu.Unlock()
		}()
		r, err := d.await(ctx, run)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("wait for an event's run", "run", run, "err", err)
			}
			return // a later process recovers it
		}
		d.produce(ctx, Finished(ev, base, d.opts.Source, d.opts.Now(), d.results(ctx, r), r.StartTime, r.CompletionTime))
	})
}

// await returns run once it is final; an error when ctx ends first or the run is gone.
func (d *Dispatcher) await(ctx context.Context, id string) (store.Run, error) {
	tick := time.NewTicker(d.opts.Poll)
	defer tick.Stop()
	for {
		var r store.Run
		var err error
		if d.opts.Runs != nil {
			r, err = d.opts.Runs.Await(ctx, id, time.Minute)
		} else {
			r, err = d.st.GetRun(ctx, id)
		}
		if err != nil {
			return store.Run{}, err
		}
		if r.Status.Final() {
			return r, nil
		}
		if d.opts.Runs != nil && ctx.Err() == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return store.Run{}, ctx.Err()
		case <-tick.C:
		}
	}
}

// results are how the tasks of run r ended, in order, up to the first that did not succeed, with their logs.
func (d *Dispatcher) results(ctx context.Context, r store.Run) []TaskResult {
	names := map[string]string{}   // step name → task name
	headers := map[string]string{} // step name → its container's header line in the job's output
	for _, s := range r.Definition.Steps {
		names[s.Name] = taskOf(s)
		if len(s.Containers) == 1 {
			headers[s.Name] = executor.ContainerHeader(s.Containers[0])
		}
	}
	var out []TaskResult
	for _, s := range r.Steps {
		t := TaskResult{Name: names[s.Name]}
		if s.Job != "" {
			if j, err := d.st.GetJob(ctx, s.Job); err == nil {
				// The task's own output, as Keptn shows it: without runplane's container header.
				t.Logs = strings.TrimRight(strings.TrimPrefix(j.Stdout, headers[s.Name]), "\n")
				if s.Status != api.StepSucceeded && j.Reason != "" {
					t.Err = errors.New(j.Reason)
				}
			}
		}
		if s.Status == api.StepSucceeded {
			t.Err = nil
			out = append(out, t)
			continue
		}
		if t.Err == nil {
			msg := s.Message
			if msg == "" {
				msg = fmt.Sprintf("run %s %s", r.ID, r.Status)
				if r.Reason != "" {
					msg += ": " + r.Reason
				}
			}
			t.Err = fmt.Errorf("%s %s", s.Status, msg)
		}
		return append(out, t)
	}
	if r.Status != api.RunSucceeded {
		out = append(out, TaskResult{Name: r.Workflow, Err: fmt.Errorf("run %s %s: %s", r.ID, r.Status, r.Reason)})
	}
	return out
}

// taskOf is the name of the Keptn task a step runs, from its spec (see Build); the step's name if it has none.
func taskOf(s api.Step) string {
	var spec struct {
		Task string `json:"task"`
	}
	if json.Unmarshal(s.Spec, &spec) == nil && spec.Task != "" {
		return spec.Task
	}
	return s.Name
}

// recoverAnswers tracks the runs of the .started answers an earlier process produced and did not finish.
func (d *Dispatcher) recoverAnswers(ctx context.Context) error {
	since := d.opts.Now().Add(-d.opts.Retention)
	for off := 0; ; off += 500 {
		evs, _, err := d.st.ListEvents(ctx, store.EventFilter{Source: d.opts.Source, Since: since, Limit: 500, Offset: off})
		if err != nil {
			return err
		}
		for _, e := range evs {
			base, ok := baseOfStarted(e.ID)
			run, _ := e.Extensions[extRun].(string)
			if !ok || !e.Produced || run == "" {
				continue
			}
			if _, err := d.st.GetEvent(ctx, e.Source, answerID(base, phaseFinished)); err == nil {
				continue
			}
			r, err := d.st.GetRun(ctx, run)
			if err != nil || r.Trigger == nil {
				continue
			}
			ev, err := d.st.GetEvent(ctx, r.Trigger.Source, r.Trigger.Delivery)
			if err != nil {
				continue // pruned: nothing to answer from
			}
			d.track(ctx, base, ev, run)
		}
		if len(evs) < 500 {
			return nil
		}
	}
}
