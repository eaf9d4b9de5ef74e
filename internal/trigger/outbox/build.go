package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// The types of the events jobs and runs write.
const (
	TypeJobPrefix = "dev.runplane.job."
	TypeRunPrefix = "dev.runplane.run."
)

// JobData is the data of a dev.runplane.job.* event.
type JobData struct {
	ID     string        `json:"id"`
	Task   string        `json:"task"`
	Owner  string        `json:"owner"`
	Status api.JobStatus `json:"status"`
	// Trigger is what started the job when no one submitted it; Run and Step the workflow run it is a step of.
	Trigger  *api.Trigger `json:"trigger,omitempty"`
	Run      string       `json:"run,omitempty"`
	Step     string       `json:"step,omitempty"`
	ExitCode *int         `json:"exit_code,omitempty"`
	Reason   string       `json:"reason,omitempty"`
	// JSONData is the job's ^JSON result, for sinks with include_result.
	JSONData json.RawMessage `json:"json_data,omitempty"`
}

// RunData is the data of a dev.runplane.run.* event.
type RunData struct {
	ID       string        `json:"id"`
	Workflow string        `json:"workflow"`
	Owner    string        `json:"owner"`
	Status   api.RunStatus `json:"status"`
	Trigger  *api.Trigger  `json:"trigger,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	// Outputs are each step's outputs from its ^JSON result, by step, for sinks with include_result.
	Outputs map[string]map[string]json.RawMessage `json:"outputs,omitempty"`
}

// resultKeys are the keys of the data of job and run events that only sinks with include_result receive.
var resultKeys = []string{"json_data", "outputs"}

// build makes the CloudEvent of a job or run event from the object as stored. What it reads does not change
// once the transition happened (a started event reports status running, whatever the job does next), so every
// server builds the same event.
func (o *Outbox) build(ctx context.Context, e store.OutboxEvent) ([]byte, error) {
	transition := e.Type[strings.LastIndexByte(e.Type, '.')+1:]
	ev := Event{ID: e.ID, Source: o.opts.Source, Type: e.Type, Subject: e.Subject, Time: e.Time}
	var data any
	switch e.Kind {
	case store.EventOfJob:
		j, err := o.st.GetJob(ctx, e.Subject)
		switch {
		case errors.Is(err, store.ErrNotFound):
			data = JobData{ID: e.Subject, Status: status(transition)}
		case err != nil:
			return nil, err
		default:
			d := JobData{ID: j.ID, Task: j.Task, Owner: j.Owner, Status: status(transition), Trigger: j.Trigger,
				Run: j.Run, Step: j.Step}
			if d.Status != api.JobRunning {
				d.ExitCode, d.Reason, d.JSONData = j.ExitCode, j.Reason, j.JSONData
			}
			data = d
		}
	case store.EventOfRun:
		r, err := o.st.GetRun(ctx, e.Subject)
		switch {
		case errors.Is(err, store.ErrNotFound):
			data = RunData{ID: e.Subject, Status: api.RunStatus(status(transition))}
		case err != nil:
			return nil, err
		default:
			d := RunData{ID: r.ID, Workflow: r.Workflow, Owner: r.Owner, Status: api.RunStatus(status(transition)),
				Trigger: r.Trigger}
			if d.Status != api.RunRunning {
				d.Reason = r.Reason
				for _, s := range r.Steps {
					if len(s.Outputs) > 0 {
						if d.Outputs == nil {
							d.Outputs = map[string]map[string]json.RawMessage{}
						}
						d.Outputs[s.Name] = s.Outputs
					}
				}
			}
			data = d
		}
	default:
		return nil, fmt.Errorf("event %q: kind %q is neither job nor run and it has no CloudEvent", e.ID, e.Kind)
	}
	var err error
	if ev.Data, err = json.Marshal(data); err != nil {
		return nil, fmt.Errorf("event %q: %w", e.ID, err)
	}
	return json.Marshal(ev)
}

// status is the status a transition reports: started is running.
func status(transition string) api.JobStatus {
	if transition == "started" {
		return api.JobRunning
	}
	return api.JobStatus(transition)
}

// withoutResult returns the event body without its data's result keys (for job and run events sent to a sink
// without include_result); body itself if it has none.
func withoutResult(body []byte) ([]byte, error) {
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, err
	}
	var data map[string]json.RawMessage
	if json.Unmarshal(ev["data"], &data) != nil {
		return body, nil
	}
	cut := false
	for _, k := range resultKeys {
		if _, ok := data[k]; ok {
			delete(data, k)
			cut = true
		}
	}
	if !cut {
		return body, nil
	}
	d, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	ev["data"] = d
	return json.Marshal(ev)
}
