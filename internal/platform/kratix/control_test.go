package kratix

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseWorkflowControl(t *testing.T) {
	tests := []struct {
		name string
		file string
		want *WorkflowControl
		err  string
	}{
		{name: "none", file: ""},
		{name: "null", file: "null"},
		{name: "suspend", file: "suspend: true\nmessage: waiting for approval\n", want: &WorkflowControl{Suspend: true, Message: "waiting for approval"}},
		{name: "retry", file: "retryAfter: 5m\nmessage: not yet\nmaxAttempts: 3\n", want: &WorkflowControl{RetryAfter: "5m", Message: "not yet", MaxAttempts: 3}},
		{name: "JSON, as the job engine keeps it", file: `{"retryAfter":"90s"}`, want: &WorkflowControl{RetryAfter: "90s"}},
		{name: "unknown keys ignored", file: "suspend: false\nsomething: else\n", want: &WorkflowControl{}},
		{name: "empty retryAfter", file: "retryAfter: \"\"\n", want: &WorkflowControl{}},
		{name: "bad duration", file: "retryAfter: 5 minutes\n", err: `metadata/workflow-control.yaml: retryAfter: "5 minutes" is not a duration`},
		{name: "number duration", file: "retryAfter: 300\n", err: "metadata/workflow-control.yaml: retryAfter: want a duration"},
		{name: "negative duration", file: "retryAfter: -1m\n", err: `retryAfter: "-1m" is negative`},
		{name: "suspend not a bool", file: "suspend: maybe\n", err: "metadata/workflow-control.yaml: suspend: want true or false"},
		{name: "message not a string", file: "message: {a: b}\n", err: "metadata/workflow-control.yaml: message: want a string"},
		{name: "maxAttempts a fraction", file: "maxAttempts: 1.5\n", err: "metadata/workflow-control.yaml: maxAttempts: want a whole number"},
		{name: "maxAttempts negative", file: "maxAttempts: -1\n", err: "maxAttempts: want a whole number, 0 or more"},
		{name: "maxAttempts a string", file: "maxAttempts: \"3\"\n", err: "maxAttempts: want a whole number"},
		{name: "a list", file: "- suspend\n", err: "metadata/workflow-control.yaml: must be a YAML mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWorkflowControl([]byte(tt.file))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseWorkflowControl(%q) err = %v, want %q", tt.file, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreUnexported(WorkflowControl{})); diff != "" {
				t.Errorf("ParseWorkflowControl(%q) (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

func FuzzParseWorkflowControl(f *testing.F) {
	f.Add([]byte("suspend: true\nmessage: m\n"))
	f.Add([]byte("retryAfter: 1h30m\nmaxAttempts: 2\n"))
	f.Add([]byte("retryAfter: 9999999999h\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseWorkflowControl(b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), WorkflowControlFile+": ") {
				t.Fatalf("ParseWorkflowControl(%q) err = %v: does not name the file", b, err)
			}
			return
		}
		if c.RetryDuration() < 0 || (c != nil && c.MaxAttempts < 0) {
			t.Fatalf("ParseWorkflowControl(%q) = %+v: negative", b, c)
		}
		// Whatever it says, a pipeline's next state is one of the five.
		n := Advance(PipelineStatus{Name: "p", Phase: PhaseRunning, Attempts: 2}, Outcome{Succeeded: true}, c, Policy{MaxAttempts: 3}, now)
		switch n.Do {
		case Continue, Suspend, Retry, GiveUp:
		default:
			t.Fatalf("Advance after %+v: %s", c, n.Do)
		}
	})
}

func TestAdvance(t *testing.T) {
	const ts = "2026-12-07T13:00:00Z"
	const earlier = "2026-12-07T12:00:00Z"
	running := PipelineStatus{Name: "p", Phase: PhaseRunning, LastTransitionTime: earlier}
	retried := PipelineStatus{Name: "p", Phase: PhaseRunning, Attempts: 2, NextRetryAt: earlier, LastTransitionTime: earlier}
	ok := Outcome{Succeeded: true}
	tests := []struct {
		name string
		prev PipelineStatus
		out  Outcome
		ctl  string
		pol  Policy
		want Next
	}{
		{name: "succeeded", prev: running, out: ok,
			want: Next{Do: Continue, Pipeline: PipelineStatus{Name: "p", Phase: PhaseSucceeded, LastTransitionTime: ts}}},
		{name: "succeeded after retries: attempts cleared", prev: retried, out: ok,
			want: Next{Do: Continue, Pipeline: PipelineStatus{Name: "p", Phase: PhaseSucceeded, LastTransitionTime: ts}}},
		{name: "failed", prev: running, out: Outcome{Reason: "container render exited 2"},
			want: Next{Do: Stop, Pipeline: PipelineStatus{Name: "p", Phase: PhaseFailed, Message: "container render exited 2", LastTransitionTime: ts}}},
		{name: "failed: its workflow control is ignored", prev: running, out: Outcome{Reason: "x"}, ctl: "suspend: true\n",
			want: Next{Do: Stop, Pipeline: PipelineStatus{Name: "p", Phase: PhaseFailed, Message: "x", LastTransitionTime: ts}}},
		{name: "suspend", prev: running, out: ok, ctl: "suspend: true\nmessage: waiting for approval\n",
			want: Next{Do: Suspend, Pipeline: PipelineStatus{Name: "p", Phase: PhaseSuspended, Message: "waiting for approval", LastTransitionTime: ts}}},
		{name: "suspend after retries: attempts and nextRetryAt cleared", prev: retried, out: ok, ctl: "suspend: true\n",
			want: Next{Do: Suspend, Pipeline: PipelineStatus{Name: "p", Phase: PhaseSuspended, LastTransitionTime: ts}}},
		{name: "retry", prev: running, out: ok, ctl: "retryAfter: 10m\nmessage: ticket not approved\n",
			want: Next{Do: Retry, RetryAt: now.Add(10 * time.Minute), Pipeline: PipelineStatus{Name: "p", Phase: PhaseSuspended,
				Message: "ticket not approved", Attempts: 1, NextRetryAt: "2026-12-07T13:10:00Z", LastTransitionTime: ts}}},
		{name: "retry and suspend: retry wins, as in Kratix", prev: retried, out: ok, ctl: "retryAfter: 30s\nsuspend: true\n",
			want: Next{Do: Retry, RetryAt: now.Add(30 * time.Second), Pipeline: PipelineStatus{Name: "p", Phase: PhaseSuspended,
				Attempts: 3, NextRetryAt: "2026-12-07T13:00:30Z", LastTransitionTime: ts}}},
		{name: "retry within maxAttempts", prev: retried, out: ok, ctl: "retryAfter: 1m\nmaxAttempts: 3\n",
			want: Next{Do: Retry, RetryAt: now.Add(time.Minute), Pipeline: PipelineStatus{Name: "p", Phase: PhaseSuspended,
				Attempts: 3, NextRetryAt: "2026-12-07T13:01:00Z", LastTransitionTime: ts}}},
		{name: "retry past maxAttempts: give up", prev: retried, out: ok, ctl: "retryAfter: 1m\nmaxAttempts: 2\nmessage: still no ticket\n",
			want: Next{Do: GiveUp, Pipeline: PipelineStatus{Name: "p", Phase: PhaseFailed, Attempts: 2,
				Message: "gave up after 2 attempts (maxAttempts 2): still no ticket", LastTransitionTime: ts}}},
		{name: "the platform's maxAttempts bounds a file without one", prev: retried, out: ok, ctl: "retryAfter: 1m\n", pol: Policy{MaxAttempts: 2},
			want: Next{Do: GiveUp, Pipeline: PipelineStatus{Name: "p", Phase: PhaseFailed, Attempts: 2,
				Message: "gave up after 2 attempts (maxAttempts 2)", LastTransitionTime: ts}}},
		{name: "a file cannot raise the platform's maxAttempts", prev: retried, out: ok, ctl: "retryAfter: 1m\nmaxAttempts: 10\n", pol: Policy{MaxAttempts: 2},
			want: Next{Do: GiveUp, Pipeline: PipelineStatus{Name: "p", Phase: PhaseFailed, Attempts: 2,
				Message: "gave up after 2 attempts (maxAttempts 2)", LastTransitionTime: ts}}},
		{name: "a file may lower it", prev: retried, out: ok, ctl: "retryAfter: 1m\nmaxAttempts: 1\n", pol: Policy{MaxAttempts: 5},
			want: Next{Do: GiveUp, Pipeline: PipelineStatus{Name: "p", Phase: PhaseFailed, Attempts: 2,
				Message: "gave up after 2 attempts (maxAttempts 1)", LastTransitionTime: ts}}},
		{name: "same phase keeps its transition time", prev: PipelineStatus{Name: "p", Phase: PhaseSuspended, Attempts: 1, LastTransitionTime: earlier}, out: ok, ctl: "retryAfter: 1m\n",
			want: Next{Do: Retry, RetryAt: now.Add(time.Minute), Pipeline: PipelineStatus{Name: "p", Phase: PhaseSuspended,
				Attempts: 2, NextRetryAt: "2026-12-07T13:01:00Z", LastTransitionTime: earlier}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctl, err := ParseWorkflowControl([]byte(tt.ctl))
			if err != nil {
				t.Fatal(err)
			}
			got := Advance(tt.prev, tt.out, ctl, tt.pol, now)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Advance (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStart(t *testing.T) {
	const earlier = "2026-12-07T12:00:00Z"
	tests := []struct {
		name       string
		prev, want PipelineStatus
	}{
		{"pending", PipelineStatus{Name: "p", Phase: PhasePending, LastTransitionTime: earlier},
			PipelineStatus{Name: "p", Phase: PhaseRunning, LastTransitionTime: "2026-12-07T13:00:00Z"}},
		{"resumed after a retry: attempts kept, message gone", PipelineStatus{Name: "p", Phase: PhaseSuspended, Message: "m", Attempts: 2, NextRetryAt: earlier},
			PipelineStatus{Name: "p", Phase: PhaseRunning, Attempts: 2, NextRetryAt: earlier, LastTransitionTime: "2026-12-07T13:00:00Z"}},
		{"already running", PipelineStatus{Name: "p", Phase: PhaseRunning, LastTransitionTime: earlier},
			PipelineStatus{Name: "p", Phase: PhaseRunning, LastTransitionTime: earlier}},
	}
	for _, tt := range tests {
		if got := Start(tt.prev, now); got != tt.want {
			t.Errorf("%s: Start(%+v) = %+v, want %+v", tt.name, tt.prev, got, tt.want)
		}
	}
}
