package kratix

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var now = time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)

// obj reads a status written as YAML, as a store would give it.
func obj(t testing.TB, y string) map[string]any {
	t.Helper()
	m, err := readMapping("test", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// same compares two statuses as their JSON.
func same(t *testing.T, what string, want, got map[string]any) {
	t.Helper()
	var w, g any
	wb, _ := json.Marshal(want)
	gb, _ := json.Marshal(got)
	_ = json.Unmarshal(wb, &w)
	_ = json.Unmarshal(gb, &g)
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

func TestMergeStatus(t *testing.T) {
	tests := []struct {
		name         string
		typ          WorkflowType
		status, file string
		want         string
		warning      string
		err          string
	}{
		{
			// Kratix's own MergeStatuses case (work-creator/lib/status_updater_test.go), in runplane's order.
			name: "keys replace, conditions merge by type",
			typ:  TypeResource,
			status: `{message: Pending, extra: value, slices: [A, B], conditions: [
				{type: PreviousCondition, status: "False"},
				{type: SomeOtherCondition, status: "False", message: Some other reason}]}`,
			file: "message: Resource requested\nnew: value\nslices: [C, D]\nconditions:\n- {type: PreviousCondition, status: \"True\"}\n- {type: AnotherCondition, status: \"True\", message: Another reason}\n",
			want: `{message: Resource requested, extra: value, new: value, slices: [C, D], conditions: [
				{type: PreviousCondition, status: "True"},
				{type: SomeOtherCondition, status: "False", message: Some other reason},
				{type: AnotherCondition, status: "True", message: Another reason}]}`,
		},
		{
			name:   "nested maps are replaced whole, not merged",
			typ:    TypeResource,
			status: `{endpoint: {host: a, port: 1}, kratix: {workflows: {pipelines: [{name: p, phase: Running}]}}}`,
			file:   "endpoint: {host: b}\n",
			want:   `{endpoint: {host: b}, kratix: {workflows: {pipelines: [{name: p, phase: Running}]}}}`,
		},
		{
			name:   "conditions on an object without any are set as written",
			typ:    TypeResource,
			status: `{message: Pending}`,
			file:   "conditions: [{type: Ready, status: \"True\"}]\n",
			want:   `{message: Pending, conditions: [{type: Ready, status: "True"}]}`,
		},
		{name: "empty file", typ: TypeResource, status: `{message: Pending}`, file: "  \n", want: `{message: Pending}`},
		{name: "null file", typ: TypeResource, status: `{message: Pending}`, file: "null\n", want: `{message: Pending}`},
		{name: "JSON file", typ: TypeResource, status: `{}`, file: `{"replicas": 3, "big": 9007199254740993}`, want: `{replicas: 3, big: 9007199254740993}`},
		{
			name:    "promise workflow: only message",
			typ:     TypePromise,
			status:  `{message: Pending, workflows: 1}`,
			file:    "message: all good\nendpoint: x\nconditions: [{type: A, status: \"True\"}]\n",
			want:    `{message: all good, workflows: 1}`,
			warning: "metadata/status.yaml: promise workflow status has unsupported keys: conditions, endpoint; only 'message' can be updated in Promise status",
		},
		{name: "kratix refused", typ: TypeResource, status: `{}`, file: "kratix: {workflows: {}}\nmessage: x\n",
			err: "metadata/status.yaml: 'kratix' is a kratix managed status field that cannot be updated via workflows"},
		{name: "kratix refused for promises too", typ: TypePromise, status: `{}`, file: "kratix: 1\n", err: "'kratix' is a kratix managed status field"},
		{name: "not a mapping", typ: TypeResource, status: `{}`, file: "- a\n", err: "metadata/status.yaml: must be a YAML mapping"},
		{name: "not YAML", typ: TypeResource, status: `{}`, file: "a: [\n", err: "metadata/status.yaml: "},
		{name: "conditions not a list", typ: TypeResource, status: `{}`, file: "conditions: {type: A}\n", err: "metadata/status.yaml: conditions: want a list of conditions"},
		{name: "condition without type", typ: TypeResource, status: `{conditions: []}`, file: "conditions: [{type: A}, {status: \"True\"}]\n", err: "metadata/status.yaml: conditions[1].type: want a non-empty string"},
		{name: "condition not a mapping", typ: TypeResource, status: `{}`, file: "conditions: [Ready]\n", err: "metadata/status.yaml: conditions[0]: want a mapping with a type"},
		{name: "promise message not a string", typ: TypePromise, status: `{}`, file: "message: [a]\n", err: "metadata/status.yaml: message: want a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := obj(t, tt.status)
			before, _ := json.Marshal(status)
			got, warnings, err := MergeStatus(status, []byte(tt.file), tt.typ)
			if after, _ := json.Marshal(status); string(after) != string(before) {
				t.Errorf("MergeStatus modified its input: %s, was %s", after, before)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("MergeStatus err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			same(t, "MergeStatus", obj(t, tt.want), got)
			if strings.Join(warnings, "\n") != tt.warning {
				t.Errorf("MergeStatus warnings = %q, want %q", warnings, tt.warning)
			}
		})
	}
}

func FuzzMergeStatus(f *testing.F) {
	f.Add([]byte("message: ok\nconditions: [{type: A, status: \"True\"}]\n"), false)
	f.Add([]byte("kratix: {}\n"), true)
	f.Add([]byte("conditions: [{}]\n"), false)
	f.Add([]byte(`{"a": 1e400}`), false)
	f.Fuzz(func(t *testing.T, b []byte, promise bool) {
		typ := TypeResource
		if promise {
			typ = TypePromise
		}
		status := map[string]any{"message": "Pending", "conditions": []any{map[string]any{"type": "A", "status": "False"}}}
		got, _, err := MergeStatus(status, b, typ)
		if err != nil {
			if !strings.HasPrefix(err.Error(), StatusFile+": ") {
				t.Fatalf("MergeStatus(%q) err = %v: does not name the file", b, err)
			}
			return
		}
		if _, ok := got["kratix"]; ok {
			t.Fatalf("MergeStatus(%q) set status.kratix", b)
		}
		if _, err := json.Marshal(got); err != nil {
			t.Fatalf("MergeStatus(%q) = %v: not JSON: %v", b, got, err)
		}
	})
}

func TestCompletedFailedSuspended(t *testing.T) {
	res := ResourceTarget("cache", ActionConfigure, "g/v1", "Cache", "caches", "c", "ns", false)
	del := res
	del.Action = ActionDelete
	prom := PromiseTarget("cache", ActionConfigure)
	const ts = "2026-12-07T13:00:00Z"
	tests := []struct {
		name   string
		apply  func(map[string]any) map[string]any
		status string
		want   string
	}{
		{
			name:   "configure of a request completes: Pending becomes Resource requested, the in-progress condition is replaced",
			apply:  func(s map[string]any) map[string]any { return Completed(s, res, now) },
			status: `{message: Pending, conditions: [{type: ConfigureWorkflowCompleted, status: "False", reason: PipelinesInProgress}, {type: Other, status: "True"}], kratix: {workflows: {suspendedGeneration: 2, pipelines: []}}}`,
			want: `{message: Resource requested, conditions: [
				{type: ConfigureWorkflowCompleted, status: "True", reason: PipelinesExecutedSuccessfully, message: Pipelines completed, lastTransitionTime: "` + ts + `"},
				{type: Other, status: "True"}], kratix: {workflows: {pipelines: [], lastSuccessfulConfigureWorkflowTime: "` + ts + `"}},
				lastSuccessfulConfigureWorkflowTime: "` + ts + `"}`,
		},
		{
			name:   "configure of a promise completes: Promise configured",
			apply:  func(s map[string]any) map[string]any { return Completed(s, prom, now) },
			status: `{message: Pending}`,
			want:   `{message: Promise configured, conditions: [{type: ConfigureWorkflowCompleted, status: "True", reason: PipelinesExecutedSuccessfully, message: Pipelines completed, lastTransitionTime: "` + ts + `"}]}`,
		},
		{
			name:   "a message the pipelines set stays",
			apply:  func(s map[string]any) map[string]any { return Completed(s, res, now) },
			status: `{message: Howdy}`,
			want:   `{message: Howdy, lastSuccessfulConfigureWorkflowTime: "` + ts + `", kratix: {workflows: {lastSuccessfulConfigureWorkflowTime: "` + ts + `"}}, conditions: [{type: ConfigureWorkflowCompleted, status: "True", reason: PipelinesExecutedSuccessfully, message: Pipelines completed, lastTransitionTime: "` + ts + `"}]}`,
		},
		{
			name:   "delete completes",
			apply:  func(s map[string]any) map[string]any { return Completed(s, del, now) },
			status: `{message: Pending}`,
			want:   `{message: Pending, conditions: [{type: DeleteWorkflowCompleted, status: "True", reason: PipelinesExecutedSuccessfully, message: Pipelines completed, lastTransitionTime: "` + ts + `"}]}`,
		},
		{
			name: "configure fails",
			apply: func(s map[string]any) map[string]any {
				return Failed(s, res, "instance-configure", "container render exited 1", now)
			},
			status: `{message: Pending}`,
			want: `{message: Pending, conditions: [
				{type: ConfigureWorkflowCompleted, status: "False", reason: ConfigureWorkflowFailed, message: "A Configure Pipeline has failed: instance-configure: container render exited 1", lastTransitionTime: "` + ts + `"},
				{type: Reconciled, status: "False", reason: ConfigureWorkflowFailed, message: Failing, lastTransitionTime: "` + ts + `"}]}`,
		},
		{
			name:   "delete fails",
			apply:  func(s map[string]any) map[string]any { return Failed(s, del, "teardown", "", now) },
			status: `{}`,
			want:   `{conditions: [{type: DeleteWorkflowCompleted, status: "False", reason: DeleteWorkflowFailed, message: The Delete Pipeline has failed, lastTransitionTime: "` + ts + `"}]}`,
		},
		{
			name:   "configure starts",
			apply:  func(s map[string]any) map[string]any { return Running(s, res, now) },
			status: `{message: Pending}`,
			want:   `{message: Pending, conditions: [{type: ConfigureWorkflowCompleted, status: "False", reason: PipelinesInProgress, message: Pipelines are still in progress, lastTransitionTime: "` + ts + `"}]}`,
		},
		{
			name:   "configure suspends",
			apply:  func(s map[string]any) map[string]any { return Suspended(s, res, 4, now) },
			status: `{}`,
			want:   `{conditions: [{type: Reconciled, status: Unknown, reason: WorkflowSuspended, message: Suspended, lastTransitionTime: "` + ts + `"}], kratix: {workflows: {suspendedGeneration: 4}}}`,
		},
		{
			name:   "delete suspends",
			apply:  func(s map[string]any) map[string]any { return Suspended(s, del, 1, now) },
			status: `{}`,
			want:   `{conditions: [{type: DeleteWorkflowCompleted, status: "False", reason: DeleteWorkflowSuspended, message: The delete workflow is suspended, lastTransitionTime: "` + ts + `"}], kratix: {workflows: {suspendedGeneration: 1}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := obj(t, tt.status)
			before, _ := json.Marshal(status)
			got := tt.apply(status)
			if after, _ := json.Marshal(status); string(after) != string(before) {
				t.Errorf("input modified: %s, was %s", after, before)
			}
			same(t, tt.name, obj(t, tt.want), got)
		})
	}
}
