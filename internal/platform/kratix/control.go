package kratix

import (
	"encoding/json"
	"fmt"
	"time"
)

// WorkflowControl is metadata/workflow-control.yaml: a pipeline that succeeded asks to suspend its workflow
// (until resumed) or to be run again after RetryAfter, with Message shown on its status entry. MaxAttempts is
// runplane's (Kratix #680): the most retries the pipeline may ask for; the next one fails it.
type WorkflowControl struct {
	Suspend     bool   `json:"suspend,omitempty"`
	Message     string `json:"message,omitempty"`
	RetryAfter  string `json:"retryAfter,omitempty"`
	MaxAttempts int64  `json:"maxAttempts,omitempty"`

	retry time.Duration
}

// ParseWorkflowControl reads workflow-control.yaml (YAML or JSON). Empty or null is nil: no control. Unknown keys
// are ignored, as Kratix does. Errors name the file and the field: retryAfter must be a Go duration ("90s",
// "5m") not below zero, maxAttempts a whole number not below zero (0: no limit).
func ParseWorkflowControl(b []byte) (*WorkflowControl, error) {
	m, err := readMapping(WorkflowControlFile, b)
	if err != nil || m == nil {
		return nil, err
	}
	var c WorkflowControl
	if v, ok := m["suspend"]; ok && v != nil {
		if c.Suspend, ok = v.(bool); !ok {
			return nil, fmt.Errorf("%s: suspend: want true or false", WorkflowControlFile)
		}
	}
	if v, ok := m["message"]; ok && v != nil {
		if c.Message, ok = v.(string); !ok {
			return nil, fmt.Errorf("%s: message: want a string", WorkflowControlFile)
		}
	}
	if v, ok := m["retryAfter"]; ok && v != nil {
		s, isString := v.(string)
		if !isString {
			return nil, fmt.Errorf("%s: retryAfter: want a duration such as \"5m\"", WorkflowControlFile)
		}
		if s != "" {
			d, err := time.ParseDuration(s)
			if err != nil {
				return nil, fmt.Errorf("%s: retryAfter: %q is not a duration such as \"90s\" or \"5m\"", WorkflowControlFile, s)
			}
			if d < 0 {
				return nil, fmt.Errorf("%s: retryAfter: %q is negative", WorkflowControlFile, s)
			}
			c.RetryAfter, c.retry = s, d
		}
	}
	if v, ok := m["maxAttempts"]; ok && v != nil {
		n, isNumber := v.(json.Number)
		i, err := n.Int64()
		if !isNumber || err != nil || i < 0 {
			return nil, fmt.Errorf("%s: maxAttempts: want a whole number, 0 or more", WorkflowControlFile)
		}
		c.MaxAttempts = i
	}
	return &c, nil
}

// IsRetry reports whether c asks for the pipeline to run again after a while.
func (c *WorkflowControl) IsRetry() bool { return c != nil && c.RetryAfter != "" }

// IsSuspend reports whether c suspends the workflow: to be resumed, or retried.
func (c *WorkflowControl) IsSuspend() bool { return c != nil && (c.Suspend || c.IsRetry()) }

// RetryDuration is how long after the pipeline's end it runs again; 0 without a retry.
func (c *WorkflowControl) RetryDuration() time.Duration {
	if !c.IsRetry() {
		return 0
	}
	if c.retry == 0 {
		d, _ := time.ParseDuration(c.RetryAfter) // a value not from ParseWorkflowControl: 0 if it is no duration
		return max(d, 0)
	}
	return c.retry
}

// Phase is a pipeline's phase in status.kratix.workflows.pipelines[].
type Phase string

// The phases of a pipeline.
const (
	PhasePending   Phase = "Pending"
	PhaseRunning   Phase = "Running"
	PhaseSucceeded Phase = "Succeeded"
	PhaseFailed    Phase = "Failed"
	PhaseSuspended Phase = "Suspended"
)

// PipelineStatus is one entry of status.kratix.workflows.pipelines, spelled as Kratix spells it.
type PipelineStatus struct {
	Name               string `json:"name"`
	Phase              Phase  `json:"phase,omitempty"`
	Message            string `json:"message,omitempty"`
	NextRetryAt        string `json:"nextRetryAt,omitempty"`
	Attempts           int64  `json:"attempts,omitempty"`
	LastTransitionTime string `json:"lastTransitionTime,omitempty"`
}

// Do is what comes after a pipeline's job ended.
type Do string

// What may come after a pipeline.
const (
	// Continue: the pipeline succeeded; run the next one, or complete the workflow after the last.
	Continue Do = "continue"
	// Stop: the pipeline failed; the rest of the workflow does not run.
	Stop Do = "stop"
	// Suspend: the pipeline asked to suspend the workflow; it runs again when resumed.
	Suspend Do = "suspend"
	// Retry: the pipeline asked to run again at Next.RetryAt (the workflow is suspended until then).
	Retry Do = "retry"
	// GiveUp: the pipeline asked for one retry more than maxAttempts allows; it failed, the rest does not run.
	GiveUp Do = "give-up"
)

// Outcome is how a pipeline's job ended.
type Outcome struct {
	Succeeded bool
	// Reason says why it failed (the job's reason).
	Reason string
}

// Next is a pipeline's new status entry and what to do next.
type Next struct {
	Pipeline PipelineStatus
	Do       Do
	// RetryAt is when to run the pipeline again (Do Retry).
	RetryAt time.Time
}

// Policy is the platform's say in workflow control.
type Policy struct {
	// MaxAttempts bounds the retries a pipeline may ask for, whatever its workflow-control.yaml says (a file may
	// only lower it); 0: the file's maxAttempts, or no limit.
	MaxAttempts int64
}

// maxAttempts is the retry bound for ctl under p: the smaller of the two that are set; 0 for none.
func (p Policy) maxAttempts(ctl *WorkflowControl) int64 {
	n := p.MaxAttempts
	if ctl != nil && ctl.MaxAttempts > 0 && (n == 0 || ctl.MaxAttempts < n) {
		n = ctl.MaxAttempts
	}
	return n
}

// Start returns the entry of a pipeline whose job starts: Running since now, its message cleared when it was
// suspended (Kratix's MarkCurrentPipelineAs), its attempts and nextRetryAt kept while it is being retried.
func Start(prev PipelineStatus, now time.Time) PipelineStatus {
	p := prev
	if p.Phase == PhaseRunning {
		return p
	}
	if p.Phase == PhaseSuspended {
		p.Message = ""
	}
	p.Phase = PhaseRunning
	p.LastTransitionTime = stamp(now)
	return p
}

// Advance returns a pipeline's entry after its job ended, given its entry before (Start's), how the job ended and
// the workflow control it wrote (nil for none; a failed job's is ignored, as Kratix's status writer never runs
// after a failed container), and what to do next:
//   - failed: Failed, with the job's reason as message; Stop.
//   - succeeded, no suspend or retry: Succeeded, message, attempts and nextRetryAt cleared; Continue.
//   - retryAfter: Suspended with the file's message, attempts + 1 and nextRetryAt = now + retryAfter (RFC 3339);
//     Retry at that time. When the pipeline already asked for maxAttempts retries (pol and the file's, the smaller)
//     it is Failed instead, its message saying so; GiveUp.
//   - suspend: Suspended with the file's message, no attempts or nextRetryAt; Suspend.
//
// lastTransitionTime changes only with the phase.
func Advance(prev PipelineStatus, out Outcome, ctl *WorkflowControl, pol Policy, now time.Time) Next {
	p := prev
	set := func(ph Phase) {
		if p.Phase != ph {
			p.Phase = ph
			p.LastTransitionTime = stamp(now)
		}
	}
	switch {
	case !out.Succeeded:
		set(PhaseFailed)
		p.Message = out.Reason
		p.NextRetryAt = ""
		return Next{Pipeline: p, Do: Stop}
	case ctl.IsRetry():
		if max := pol.maxAttempts(ctl); max > 0 && prev.Attempts >= max {
			set(PhaseFailed)
			p.Message = fmt.Sprintf("gave up after %d attempts (maxAttempts %d)", prev.Attempts, max)
			if ctl.Message != "" {
				p.Message += ": " + ctl.Message
			}
			p.NextRetryAt = ""
			return Next{Pipeline: p, Do: GiveUp}
		}
		at := now.Add(ctl.RetryDuration()).UTC().Truncate(time.Second)
		set(PhaseSuspended)
		p.Message = ctl.Message
		p.Attempts = prev.Attempts + 1
		p.NextRetryAt = at.Format(time.RFC3339)
		return Next{Pipeline: p, Do: Retry, RetryAt: at}
	case ctl.IsSuspend():
		set(PhaseSuspended)
		p.Message = ctl.Message
		p.Attempts = 0
		p.NextRetryAt = ""
		return Next{Pipeline: p, Do: Suspend}
	}
	set(PhaseSucceeded)
	p.Message, p.Attempts, p.NextRetryAt = "", 0, ""
	return Next{Pipeline: p, Do: Continue}
}

// stamp is a time as Kratix writes it in a status: RFC 3339, UTC, whole seconds.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
