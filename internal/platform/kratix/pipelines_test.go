package kratix

import (
	"strings"
	"testing"
	"time"
)

// A configure workflow of two pipelines, driven as a controller drives it: reset, start, end, start, end.
func TestAfterPipelineConfigure(t *testing.T) {
	res := ResourceTarget("cache", ActionConfigure, "g.example.com/v1", "Cache", "caches", "c", "ns", false)
	names := []string{"first", "second"}
	const ts = "2026-12-07T13:00:00Z"
	later := now.Add(time.Minute)
	const ts2 = "2026-12-07T13:01:00Z"

	s := ResetPipelines(obj(t, `{message: Pending}`), res, names, now)
	s = StartPipeline(s, res, "first", now)
	a := AfterPipeline(s, res, names, 0, JobEnd{Succeeded: true, StatusYAML: []byte("message: provisioning\nendpoint: cache.ns:6379\nconditions: [{type: Ready, status: \"False\"}]\n")}, Policy{}, later)
	if a.Do != Continue || a.Last {
		t.Fatalf("after the first: %s last %v, want continue", a.Do, a.Last)
	}
	same(t, "after the first pipeline", obj(t, `{
		message: provisioning, endpoint: cache.ns:6379, workflows: 2, workflowsSucceeded: 1, workflowsFailed: 0,
		conditions: [
			{type: Reconciled, status: Unknown, reason: WorkflowPending, message: Pending, lastTransitionTime: "`+ts+`"},
			{type: ConfigureWorkflowCompleted, status: "False", reason: PipelinesInProgress, message: Pipelines are still in progress, lastTransitionTime: "`+ts+`"},
			{type: Ready, status: "False"}],
		kratix: {workflows: {pipelines: [
			{name: first, phase: Succeeded, lastTransitionTime: "`+ts2+`"},
			{name: second, phase: Pending, lastTransitionTime: "`+ts+`"}]}}}`), a.Status)

	s = StartPipeline(a.Status, res, "second", later)
	if s["message"] != MessagePending {
		t.Errorf("message as the second pipeline starts = %v, want Pending (Kratix's setPipelineStartingStatus)", s["message"])
	}
	a = AfterPipeline(s, res, names, 1, JobEnd{Succeeded: true, StatusYAML: []byte(`{"conditions":[{"type":"Ready","status":"True"}]}`)}, Policy{}, later)
	if a.Do != Continue || !a.Last {
		t.Fatalf("after the second: %s last %v, want continue, last", a.Do, a.Last)
	}
	same(t, "after the last pipeline", obj(t, `{
		message: Resource requested, endpoint: cache.ns:6379, workflows: 2, workflowsSucceeded: 2, workflowsFailed: 0,
		lastSuccessfulConfigureWorkflowTime: "`+ts2+`",
		conditions: [
			{type: Reconciled, status: Unknown, reason: WorkflowPending, message: Pending, lastTransitionTime: "`+ts+`"},
			{type: ConfigureWorkflowCompleted, status: "True", reason: PipelinesExecutedSuccessfully, message: Pipelines completed, lastTransitionTime: "`+ts2+`"},
			{type: Ready, status: "True"}],
		kratix: {workflows: {lastSuccessfulConfigureWorkflowTime: "`+ts2+`", pipelines: [
			{name: first, phase: Succeeded, lastTransitionTime: "`+ts2+`"},
			{name: second, phase: Succeeded, lastTransitionTime: "`+ts2+`"}]}}}`), a.Status)
}

func TestAfterPipelineEnds(t *testing.T) {
	res := ResourceTarget("cache", ActionConfigure, "g.example.com/v1", "Cache", "caches", "c", "ns", false)
	del := res
	del.Action = ActionDelete
	prom := PromiseTarget("cache", ActionConfigure)
	names := []string{"first", "second"}
	tests := []struct {
		name     string
		target   Target
		i        int
		end      JobEnd
		pol      Policy
		do       Do
		phase    Phase
		cond     Condition // the condition the end sets
		message  string    // the pipeline entry's
		warnings string
	}{
		{name: "failed job: status.yaml not merged, the rest stops", target: res, i: 0,
			end: JobEnd{Reason: "container render exited 1", StatusYAML: []byte("endpoint: x\n")},
			do:  Stop, phase: PhaseFailed, message: "container render exited 1",
			cond: Condition{Type: ConditionConfigureWorkflowCompleted, Status: "False", Reason: ReasonConfigureWorkflowFailed, Message: "A Configure Pipeline has failed: first: container render exited 1"}},
		{name: "status.yaml sets kratix: the pipeline fails naming the file", target: res, i: 1,
			end: JobEnd{Succeeded: true, StatusYAML: []byte("kratix: {}\n")},
			do:  Stop, phase: PhaseFailed, message: "metadata/status.yaml: 'kratix' is a kratix managed status field",
			cond: Condition{Type: ConditionConfigureWorkflowCompleted, Status: "False", Reason: ReasonConfigureWorkflowFailed, Message: "A Configure Pipeline has failed: second: metadata/status.yaml: 'kratix'"}},
		{name: "bad workflow-control.yaml: the pipeline fails naming the file and field", target: res, i: 0,
			end: JobEnd{Succeeded: true, ControlYAML: []byte("retryAfter: soon\n")},
			do:  Stop, phase: PhaseFailed, message: `metadata/workflow-control.yaml: retryAfter: "soon" is not a duration`,
			cond: Condition{Type: ConditionConfigureWorkflowCompleted, Status: "False", Reason: ReasonConfigureWorkflowFailed, Message: `A Configure Pipeline has failed: first: metadata/workflow-control.yaml: retryAfter`}},
		{name: "the last pipeline suspends: not completed", target: res, i: 1,
			end: JobEnd{Succeeded: true, ControlYAML: []byte("suspend: true\nmessage: approve me\n"), Generation: 3},
			do:  Suspend, phase: PhaseSuspended, message: "approve me",
			cond: Condition{Type: ConditionReconciled, Status: "Unknown", Reason: ReasonWorkflowSuspended, Message: "Suspended"}},
		{name: "retry", target: res, i: 0, end: JobEnd{Succeeded: true, ControlYAML: []byte("retryAfter: 5m\n")},
			do: Retry, phase: PhaseSuspended,
			cond: Condition{Type: ConditionReconciled, Status: "Unknown", Reason: ReasonWorkflowSuspended, Message: "Suspended"}},
		{name: "maxAttempts 0: no limit", target: res, i: 0, pol: Policy{MaxAttempts: 0},
			end: JobEnd{Succeeded: true, ControlYAML: []byte("retryAfter: 5m\nmaxAttempts: -0\n")},
			do:  Retry, phase: PhaseSuspended,
			cond: Condition{Type: ConditionReconciled, Status: "Unknown", Reason: ReasonWorkflowSuspended, Message: "Suspended"}},
		{name: "delete fails", target: del, i: 0, end: JobEnd{Reason: "exit 3"},
			do: Stop, phase: PhaseFailed, message: "exit 3",
			cond: Condition{Type: ConditionDeleteWorkflowCompleted, Status: "False", Reason: ReasonDeleteWorkflowFailed, Message: "The Delete Pipeline has failed: exit 3"}},
		{name: "delete completes", target: del, i: 1, end: JobEnd{Succeeded: true},
			do: Continue, phase: PhaseSucceeded,
			cond: Condition{Type: ConditionDeleteWorkflowCompleted, Status: "True", Reason: ReasonPipelinesExecutedSuccessfully, Message: MessagePipelinesDone}},
		{name: "promise workflow: other keys warned about", target: prom, i: 1,
			end: JobEnd{Succeeded: true, StatusYAML: []byte("message: ready\nendpoint: x\n")},
			do:  Continue, phase: PhaseSucceeded, warnings: "unsupported keys: endpoint",
			cond: Condition{Type: ConditionConfigureWorkflowCompleted, Status: "True", Reason: ReasonPipelinesExecutedSuccessfully, Message: MessagePipelinesDone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ResetPipelines(obj(t, `{message: Pending}`), tt.target, names, now)
			s = StartPipeline(s, tt.target, names[tt.i], now)
			a := AfterPipeline(s, tt.target, names, tt.i, tt.end, tt.pol, now)
			if a.Do != tt.do {
				t.Errorf("Do = %s, want %s", a.Do, tt.do)
			}
			p, _ := Pipeline(a.Status, names[tt.i])
			if p.Phase != tt.phase || !strings.Contains(p.Message, tt.message) {
				t.Errorf("pipeline entry = %+v, want phase %s, message %q", p, tt.phase, tt.message)
			}
			c, ok := FindCondition(a.Status, tt.cond.Type)
			if !ok || c.Status != tt.cond.Status || c.Reason != tt.cond.Reason || !strings.HasPrefix(c.Message, tt.cond.Message) {
				t.Errorf("condition %s = %+v, want %+v", tt.cond.Type, c, tt.cond)
			}
			if w := strings.Join(a.Warnings, "\n"); !strings.Contains(w, tt.warnings) || (tt.warnings == "" && w != "") {
				t.Errorf("warnings = %q, want %q", w, tt.warnings)
			}
			if _, ok := a.Status["endpoint"]; ok && !tt.end.Succeeded {
				t.Errorf("a failed job's status.yaml was merged: %v", a.Status)
			}
		})
	}
}

// Retries count up to maxAttempts, then the pipeline gives up and the workflow fails.
func TestAfterPipelineRetriesThenGivesUp(t *testing.T) {
	res := ResourceTarget("cache", ActionConfigure, "g.example.com/v1", "Cache", "caches", "c", "ns", false)
	names := []string{"wait"}
	s := ResetPipelines(map[string]any{}, res, names, now)
	end := JobEnd{Succeeded: true, ControlYAML: []byte("retryAfter: 1m\nmaxAttempts: 2\nmessage: ticket pending\n")}
	at := now
	for attempt := int64(1); attempt <= 2; attempt++ {
		s = StartPipeline(s, res, "wait", at)
		a := AfterPipeline(s, res, names, 0, end, Policy{}, at)
		p, _ := Pipeline(a.Status, "wait")
		if a.Do != Retry || p.Attempts != attempt || !a.RetryAt.Equal(at.Add(time.Minute)) || p.NextRetryAt != stamp(at.Add(time.Minute)) {
			t.Fatalf("retry %d: %s at %v, entry %+v", attempt, a.Do, a.RetryAt, p)
		}
		s, at = a.Status, a.RetryAt
	}
	s = StartPipeline(s, res, "wait", at)
	a := AfterPipeline(s, res, names, 0, end, Policy{}, at)
	p, _ := Pipeline(a.Status, "wait")
	if a.Do != GiveUp || p.Phase != PhaseFailed || !strings.Contains(p.Message, "gave up after 2 attempts") {
		t.Fatalf("third retry: %s, entry %+v; want give-up", a.Do, p)
	}
	if c, _ := FindCondition(a.Status, ConditionConfigureWorkflowCompleted); c.Status != "False" || !strings.Contains(c.Message, "gave up after 2 attempts (maxAttempts 2): ticket pending") {
		t.Errorf("condition = %+v", c)
	}
	if a.Status["workflowsFailed"] != int64(1) {
		t.Errorf("workflowsFailed = %v, want 1", a.Status["workflowsFailed"])
	}
}

func TestSuspendedPipeline(t *testing.T) {
	res := ResourceTarget("cache", ActionConfigure, "g.example.com/v1", "Cache", "caches", "c", "ns", false)
	names := []string{"first", "second", "third"}
	s := ResetPipelines(map[string]any{}, res, names, now)
	if i := SuspendedPipeline(s); i != -1 {
		t.Errorf("SuspendedPipeline of a fresh workflow = %d, want -1", i)
	}
	s = AfterPipeline(s, res, names, 0, JobEnd{Succeeded: true}, Policy{}, now).Status
	a := AfterPipeline(s, res, names, 1, JobEnd{Succeeded: true, ControlYAML: []byte("suspend: true\n")}, Policy{}, now)
	if i := SuspendedPipeline(a.Status); i != 1 {
		t.Errorf("SuspendedPipeline = %d, want 1", i)
	}
	// Resumed: the suspended pipeline runs again and the workflow goes on.
	s = StartPipeline(a.Status, res, "second", now)
	if i := SuspendedPipeline(s); i != -1 {
		t.Errorf("SuspendedPipeline once resumed = %d, want -1", i)
	}
	if a := AfterPipeline(s, res, names, 1, JobEnd{Succeeded: true}, Policy{}, now); a.Do != Continue || a.Last {
		t.Errorf("after the resumed pipeline: %s, last %v; want continue to the third", a.Do, a.Last)
	}
}
