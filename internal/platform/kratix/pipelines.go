package kratix

import (
	"encoding/json"
	"fmt"
	"time"
)

// Pipelines returns status.kratix.workflows.pipelines. Entries that are not mappings are errors.
func Pipelines(status map[string]any) ([]PipelineStatus, error) {
	k, _ := status["kratix"].(map[string]any)
	w, _ := k["workflows"].(map[string]any)
	l, _ := w["pipelines"].([]any)
	out := make([]PipelineStatus, 0, len(l))
	for i, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("status.kratix.workflows.pipelines[%d]: not a mapping", i)
		}
		b, _ := json.Marshal(m)
		var p PipelineStatus
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("status.kratix.workflows.pipelines[%d]: %w", i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Pipeline returns the entry of the pipeline named name, if status has one.
func Pipeline(status map[string]any, name string) (PipelineStatus, bool) {
	ps, _ := Pipelines(status)
	for _, p := range ps {
		if p.Name == name {
			return p, true
		}
	}
	return PipelineStatus{}, false
}

// SetPipeline returns status with p as the entry of its pipeline (replaced in place, else added). status is not
// modified.
func SetPipeline(status map[string]any, p PipelineStatus) map[string]any {
	out := copyStatus(status)
	w := workflowsOf(out)
	l, _ := w["pipelines"].([]any)
	e := pipelineMap(p)
	for i, have := range l {
		if m, ok := have.(map[string]any); ok && m["name"] == p.Name {
			l[i] = e
			w["pipelines"] = l
			return out
		}
	}
	w["pipelines"] = append(l, e)
	return out
}

func pipelineMap(p PipelineStatus) map[string]any {
	b, _ := json.Marshal(p)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if p.Attempts != 0 {
		m["attempts"] = p.Attempts // an integer, not the float64 JSON gives back
	}
	return m
}

// ResetPipelines returns status as a workflow of the named pipelines starts from its first: every entry Pending
// since now, suspendedGeneration removed (Kratix's ResetPipelineStatusToPending), and for configure Kratix's
// counters workflows = len(names), workflowsSucceeded = workflowsFailed = 0.
func ResetPipelines(status map[string]any, t Target, names []string, now time.Time) map[string]any {
	out := copyStatus(status)
	w := workflowsOf(out)
	l := make([]any, 0, len(names))
	for _, n := range names {
		l = append(l, pipelineMap(PipelineStatus{Name: n, Phase: PhasePending, LastTransitionTime: stamp(now)}))
	}
	w["pipelines"] = l
	delete(w, "suspendedGeneration")
	if t.Action == ActionConfigure {
		out["workflows"] = int64(len(names))
		out["workflowsSucceeded"] = int64(0)
		out["workflowsFailed"] = int64(0)
	}
	return out
}

// StartPipeline returns status as pipeline's job starts: its entry Running (Start); for a configure workflow also
// what Kratix's setPipelineStartingStatus sets: message "Pending" (a message an earlier pipeline set does not
// outlive the next one's start), Reconciled Unknown with reason WorkflowPending, and ConfigureWorkflowCompleted
// False with reason PipelinesInProgress (each left as it is when it already says so).
func StartPipeline(status map[string]any, t Target, pipeline string, now time.Time) map[string]any {
	prev, _ := Pipeline(status, pipeline)
	prev.Name = pipeline
	out := SetPipeline(status, Start(prev, now))
	if t.Action != ActionConfigure {
		return out
	}
	out["message"] = MessagePending
	if c, ok := FindCondition(out, ConditionReconciled); !ok || c.Status != "Unknown" || c.Reason != ReasonWorkflowPending {
		out = SetCondition(out, Condition{Type: ConditionReconciled, Status: "Unknown", Reason: ReasonWorkflowPending, Message: MessagePending}, now)
	}
	if c, ok := FindCondition(out, ConditionConfigureWorkflowCompleted); !ok || c.Status != "False" || c.Reason != ReasonPipelinesInProgress {
		out = Running(out, t, now)
	}
	return out
}

// JobEnd is how a pipeline's job ended and what it left in its metadata directory.
type JobEnd struct {
	Succeeded bool
	// Reason is the job's reason when it failed.
	Reason string
	// StatusYAML and ControlYAML are the job's status.yaml and workflow-control.yaml (YAML or the JSON the job
	// engine parsed them into: api.JobMetadata.Status and .WorkflowControl); nil when it wrote none.
	StatusYAML, ControlYAML []byte
	// Generation is the object's generation, recorded as suspendedGeneration when the pipeline suspends.
	Generation int64
}

// After is the outcome of AfterPipeline.
type After struct {
	// Status is the object's new status.
	Status map[string]any
	// Do is what to do next; Continue after the last pipeline means the workflow completed.
	Do Do
	// Last says the pipeline was the workflow's last.
	Last bool
	// RetryAt is when to run the pipeline again (Do Retry).
	RetryAt time.Time
	// Warnings are what was ignored in the job's files (a promise workflow's status keys other than message).
	Warnings []string
}

// AfterPipeline applies the end of the job of pipeline i of pipelines (the workflow's, in order) to the object's
// status, as Kratix's status writer and workflow reconciler do: a succeeded job's status.yaml is merged
// (MergeStatus) and its workflow-control.yaml applied (Advance under pol); the pipeline's entry is updated; after
// the last pipeline, unless it suspends, the workflow is Completed; a failed pipeline (its job, or its metadata
// files: the error names the file and field) makes the workflow Failed and Do Stop; a suspending one makes it
// Suspended. For configure, workflowsSucceeded counts the pipelines done and workflowsFailed is 1 after a failure.
// status is not modified.
func AfterPipeline(status map[string]any, t Target, pipelines []string, i int, end JobEnd, pol Policy, now time.Time) After {
	name := pipelines[i]
	last := i == len(pipelines)-1
	prev, ok := Pipeline(status, name)
	if !ok {
		prev = Start(PipelineStatus{Name: name}, now)
	}
	out := status
	var ctl *WorkflowControl
	var warnings []string
	outcome := Outcome{Succeeded: end.Succeeded, Reason: end.Reason}
	if end.Succeeded {
		var err error
		if ctl, err = ParseWorkflowControl(end.ControlYAML); err == nil {
			out, warnings, err = MergeStatus(status, end.StatusYAML, t.Type)
		}
		if err != nil {
			out, ctl = status, nil
			outcome = Outcome{Reason: err.Error()}
		}
	}
	next := Advance(prev, outcome, ctl, pol, now)
	out = SetPipeline(out, next.Pipeline)
	switch next.Do {
	case Continue:
		if t.Action == ActionConfigure {
			out["workflowsSucceeded"] = int64(i + 1)
		}
		if last {
			out = Completed(out, t, now)
		}
	case Stop, GiveUp:
		if t.Action == ActionConfigure {
			out["workflowsFailed"] = int64(1)
		}
		out = Failed(out, t, name, next.Pipeline.Message, now)
	case Suspend, Retry:
		out = Suspended(out, t, end.Generation, now)
	}
	return After{Status: out, Do: next.Do, Last: last, RetryAt: next.RetryAt, Warnings: warnings}
}

// SuspendedPipeline returns the index in status.kratix.workflows.pipelines of the pipeline that suspended its
// workflow (to resume or retry: Kratix runs that pipeline again, then the ones after it), or -1.
func SuspendedPipeline(status map[string]any) int {
	ps, _ := Pipelines(status)
	for i, p := range ps {
		if p.Phase == PhaseSuspended {
			return i
		}
	}
	return -1
}
