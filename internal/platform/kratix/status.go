package kratix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// The metadata files of the contract, as errors name them.
const (
	StatusFile          = "metadata/status.yaml"
	WorkflowControlFile = "metadata/workflow-control.yaml"
)

// The conditions, reasons and messages Kratix sets on an object its workflows run for (lib/resourceutil,
// work-creator/lib/status_updater.go).
const (
	ConditionConfigureWorkflowCompleted = "ConfigureWorkflowCompleted"
	ConditionDeleteWorkflowCompleted    = "DeleteWorkflowCompleted"
	ConditionReconciled                 = "Reconciled"

	ReasonPipelinesExecutedSuccessfully = "PipelinesExecutedSuccessfully"
	ReasonPipelinesInProgress           = "PipelinesInProgress"
	ReasonConfigureWorkflowFailed       = "ConfigureWorkflowFailed"
	ReasonDeleteWorkflowFailed          = "DeleteWorkflowFailed"
	ReasonDeleteWorkflowSuspended       = "DeleteWorkflowSuspended"
	ReasonWorkflowSuspended             = "WorkflowSuspended"
	ReasonWorkflowPending               = "WorkflowPending"

	MessagePending           = "Pending"
	MessageResourceRequested = "Resource requested"
	MessagePromiseConfigured = "Promise configured"
	MessagePipelinesDone     = "Pipelines completed"
	MessageInProgress        = "Pipelines are still in progress"
)

// MergeStatus returns status with statusYAML (the status.yaml a pipeline wrote, YAML or JSON; empty is nothing)
// merged in as Kratix's status writer merges it: top-level keys replace the object's, except conditions, which
// merge by type (a condition of a type the object has replaces it in place; others are added in the file's order);
// the key kratix is refused. A promise workflow sets only message: its other keys are left out, each named in a
// warning. status is not modified. Errors name the file and the field: a file that is not a YAML mapping, a
// condition without a type.
func MergeStatus(status map[string]any, statusYAML []byte, t WorkflowType) (map[string]any, []string, error) {
	in, err := readMapping(StatusFile, statusYAML)
	if err != nil {
		return nil, nil, err
	}
	out := copyStatus(status)
	if len(in) == 0 {
		return out, nil, nil
	}
	if _, ok := in["kratix"]; ok {
		return nil, nil, fmt.Errorf("%s: 'kratix' is a kratix managed status field that cannot be updated via workflows; remove update to 'kratix' from the '/kratix/metadata/status.yaml' file", StatusFile)
	}
	var warnings []string
	if t == TypePromise {
		var ignored []string
		for k := range in {
			if k != "message" {
				ignored = append(ignored, k)
			}
		}
		if len(ignored) > 0 {
			slices.Sort(ignored)
			warnings = append(warnings, fmt.Sprintf("%s: promise workflow status has unsupported keys: %s; only 'message' can be updated in Promise status", StatusFile, strings.Join(ignored, ", ")))
		}
		if msg, ok := in["message"]; ok {
			if _, isString := msg.(string); !isString && msg != nil {
				return nil, nil, fmt.Errorf("%s: message: want a string", StatusFile)
			}
			out["message"] = msg
		}
		return out, warnings, nil
	}
	for k, v := range in {
		if k != "conditions" {
			out[k] = v
			continue
		}
		conds, err := checkConditions(v)
		if err != nil {
			return nil, nil, err
		}
		if have, ok := out["conditions"].([]any); ok && conds != nil {
			for _, c := range conds {
				have = setCondition(have, c.(map[string]any))
			}
			out["conditions"] = have
			continue
		}
		out["conditions"] = v
	}
	return out, warnings, nil
}

// checkConditions checks status.yaml's conditions: a list of mappings, each with a string type. Kratix drops a
// condition without a type silently; runplane says so instead.
func checkConditions(v any) ([]any, error) {
	if v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: conditions: want a list of conditions", StatusFile)
	}
	for i, c := range l {
		m, ok := c.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: conditions[%d]: want a mapping with a type", StatusFile, i)
		}
		if s, ok := m["type"].(string); !ok || s == "" {
			return nil, fmt.Errorf("%s: conditions[%d].type: want a non-empty string", StatusFile, i)
		}
	}
	return l, nil
}

// readMapping reads a metadata file: a YAML (or JSON) mapping, numbers kept exactly; empty or null is nil.
func readMapping(file string, b []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if string(j) == "null" {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(j))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: must be a YAML mapping", file)
	}
	return m, nil
}

// copyStatus copies status deep enough that changing the copy's top level, conditions and
// kratix.workflows.pipelines leaves status alone.
func copyStatus(status map[string]any) map[string]any {
	out := make(map[string]any, len(status)+2)
	for k, v := range status {
		out[k] = v
	}
	if l, ok := out["conditions"].([]any); ok {
		out["conditions"] = copyList(l)
	}
	if k, ok := out["kratix"].(map[string]any); ok {
		k = copyMap(k)
		if w, ok := k["workflows"].(map[string]any); ok {
			w = copyMap(w)
			if p, ok := w["pipelines"].([]any); ok {
				w["pipelines"] = copyList(p)
			}
			k["workflows"] = w
		}
		out["kratix"] = k
	}
	return out
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// copyList copies a list of mappings one level down.
func copyList(l []any) []any {
	out := make([]any, len(l))
	for i, v := range l {
		if m, ok := v.(map[string]any); ok {
			v = copyMap(m)
		}
		out[i] = v
	}
	return out
}

// Condition is a Kubernetes condition (metav1.Condition) as a status map holds it.
type Condition struct {
	Type    string
	Status  string // True, False or Unknown
	Reason  string
	Message string
}

// SetCondition returns status with c set at now (replacing a condition of its type in place, else added), as
// Kratix's SetCondition and updateConditions do. status is not modified.
func SetCondition(status map[string]any, c Condition, now time.Time) map[string]any {
	out := copyStatus(status)
	conds, _ := out["conditions"].([]any)
	out["conditions"] = setCondition(conds, map[string]any{
		"type": c.Type, "status": c.Status, "reason": c.Reason, "message": c.Message,
		"lastTransitionTime": now.UTC().Format(time.RFC3339),
	})
	return out
}

// setCondition replaces the condition of c's type in conds, or appends c.
func setCondition(conds []any, c map[string]any) []any {
	for i, have := range conds {
		if m, ok := have.(map[string]any); ok && m["type"] == c["type"] {
			conds[i] = c
			return conds
		}
	}
	return append(conds, c)
}

// FindCondition returns the condition of type typ in status, if any.
func FindCondition(status map[string]any, typ string) (Condition, bool) {
	conds, _ := status["conditions"].([]any)
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != typ {
			continue
		}
		str := func(k string) string { s, _ := m[k].(string); return s }
		return Condition{Type: typ, Status: str("status"), Reason: str("reason"), Message: str("message")}, true
	}
	return Condition{}, false
}

// Completed returns status once the last pipeline of a workflow succeeded without suspending: for configure,
// Kratix's MarkAsCompleted (ConfigureWorkflowCompleted True, reason PipelinesExecutedSuccessfully, message
// "Pipelines completed"; message "Pending" becomes "Resource requested" or "Promise configured";
// status.kratix.workflows.suspendedGeneration removed) and, for a resource request, lastSuccessfulConfigureWorkflowTime
// (in status and in status.kratix.workflows) = now; for delete, DeleteWorkflowCompleted set the same way (Kratix
// removes the object at that point; runplane shows it until it does too).
func Completed(status map[string]any, t Target, now time.Time) map[string]any {
	out := copyStatus(status)
	cond := ConditionConfigureWorkflowCompleted
	if t.Action == ActionDelete {
		cond = ConditionDeleteWorkflowCompleted
	} else if out["message"] == MessagePending {
		switch t.Type {
		case TypeResource:
			out["message"] = MessageResourceRequested
		case TypePromise:
			out["message"] = MessagePromiseConfigured
		}
	}
	if k, ok := out["kratix"].(map[string]any); ok {
		if w, ok := k["workflows"].(map[string]any); ok {
			delete(w, "suspendedGeneration")
		}
	}
	if t.Action == ActionConfigure && t.Type == TypeResource {
		out["lastSuccessfulConfigureWorkflowTime"] = stamp(now)
		workflowsOf(out)["lastSuccessfulConfigureWorkflowTime"] = stamp(now)
	}
	return SetCondition(out, Condition{Type: cond, Status: "True", Reason: ReasonPipelinesExecutedSuccessfully, Message: MessagePipelinesDone}, now)
}

// Failed returns status once pipeline failed (the rest of the workflow does not run): for configure, Kratix's
// ConfigureWorkflowCompleted False with reason ConfigureWorkflowFailed and message "A Configure Pipeline has
// failed: <pipeline>", and Reconciled False ("Failing"); for delete, DeleteWorkflowCompleted False with reason
// DeleteWorkflowFailed and message "The Delete Pipeline has failed". why, when set, is added to the message after
// ": " (the job's reason, or which metadata file and field was wrong).
func Failed(status map[string]any, t Target, pipeline, why string, now time.Time) map[string]any {
	suffix := ""
	if why != "" {
		suffix = ": " + why
	}
	if t.Action == ActionDelete {
		return SetCondition(status, Condition{Type: ConditionDeleteWorkflowCompleted, Status: "False",
			Reason: ReasonDeleteWorkflowFailed, Message: "The Delete Pipeline has failed" + suffix}, now)
	}
	out := SetCondition(status, Condition{Type: ConditionConfigureWorkflowCompleted, Status: "False",
		Reason: ReasonConfigureWorkflowFailed, Message: "A Configure Pipeline has failed: " + pipeline + suffix}, now)
	return SetCondition(out, Condition{Type: ConditionReconciled, Status: "False", Reason: ReasonConfigureWorkflowFailed, Message: "Failing"}, now)
}

// Running returns status as a configure workflow starts: ConfigureWorkflowCompleted False with reason
// PipelinesInProgress (Kratix's MarkConfigureWorkflowAsRunning). A delete workflow's status is returned as it is.
func Running(status map[string]any, t Target, now time.Time) map[string]any {
	if t.Action == ActionDelete {
		return copyStatus(status)
	}
	return SetCondition(status, Condition{Type: ConditionConfigureWorkflowCompleted, Status: "False",
		Reason: ReasonPipelinesInProgress, Message: MessageInProgress}, now)
}

// Suspended returns status once a pipeline suspended its workflow (workflow-control.yaml): Reconciled Unknown
// with reason WorkflowSuspended for configure, DeleteWorkflowCompleted False with reason DeleteWorkflowSuspended
// for delete, and status.kratix.workflows.suspendedGeneration = generation.
func Suspended(status map[string]any, t Target, generation int64, now time.Time) map[string]any {
	var out map[string]any
	if t.Action == ActionDelete {
		out = SetCondition(status, Condition{Type: ConditionDeleteWorkflowCompleted, Status: "False",
			Reason: ReasonDeleteWorkflowSuspended, Message: "The delete workflow is suspended"}, now)
	} else {
		out = SetCondition(status, Condition{Type: ConditionReconciled, Status: "Unknown",
			Reason: ReasonWorkflowSuspended, Message: "Suspended"}, now)
	}
	w := workflowsOf(out)
	w["suspendedGeneration"] = generation
	return out
}

// workflowsOf returns status.kratix.workflows of out (a copy made by copyStatus), made if missing.
func workflowsOf(out map[string]any) map[string]any {
	k, ok := out["kratix"].(map[string]any)
	if !ok {
		k = map[string]any{}
		out["kratix"] = k
	}
	w, ok := k["workflows"].(map[string]any)
	if !ok {
		w = map[string]any{}
		k["workflows"] = w
	}
	return w
}
