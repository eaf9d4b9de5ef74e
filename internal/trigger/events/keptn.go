package events

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
)

// The phases of a Keptn task event, the last segment of its type.
const (
	phaseTriggered = ".triggered"
	phaseStarted   = ".started"
	phaseFinished  = ".finished"
)

// Extension attributes runplane reads and carries: Keptn's context, the event an answer answers, the commit,
// and runplane's own, the run an answer is about.
const (
	extContext  = "shkeptncontext"
	extTrigger  = "triggeredid"
	extCommit   = "gitcommitid"
	extKeptnVer = "shkeptnspecversion"
	extRun      = "runplanerun"
)

// Keptn's statuses and results.
const (
	statusSucceeded = "succeeded"
	statusErrored   = "errored"
	resultPass      = "pass"
	resultFail      = "fail"
)

// IsTriggered reports whether typ is a Keptn task's .triggered event, which runplane answers.
func IsTriggered(typ string) bool {
	return strings.HasSuffix(typ, phaseTriggered) && len(typ) > len(phaseTriggered)
}

// answerType is typ with its .triggered suffix replaced by phase.
func answerType(typ, phase string) string { return strings.TrimSuffix(typ, phaseTriggered) + phase }

// AnswerBase is the stem of the ids of the answers of one action to one event (key: the firing's key): the same
// whoever computes it, so that replicas and restarts produce one answer (stored once, deduplicated by source and
// id) and receivers can deduplicate. The answers' ids are the base and "-started" or "-finished".
func AnswerBase(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// answerID is the id of the answer of phase with base.
func answerID(base, phase string) string { return base + strings.ReplaceAll(phase, ".", "-") }

// baseOfStarted is the base of a .started answer's id.
func baseOfStarted(id string) (string, bool) {
	return strings.CutSuffix(id, answerID("", phaseStarted))
}

// keptnData is the data of a Keptn answer: the triggering event's project, stage, service and labels, with the
// answer's status, result and message.
type keptnData struct {
	Project string         `json:"project,omitempty"`
	Stage   string         `json:"stage,omitempty"`
	Service string         `json:"service,omitempty"`
	Labels  map[string]any `json:"labels,omitempty"`
	Status  string         `json:"status,omitempty"`
	Result  string         `json:"result,omitempty"`
	Message string         `json:"message,omitempty"`
	// Test is what Keptn's job-executor adds to the .finished answer of sh.keptn.event.test.triggered.
	Test *testTimes `json:"test,omitempty"`
}

type testTimes struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// answer is an answer event to ev of type phase, from source at now, with data.
func answer(ev api.Event, base, phase, source string, now time.Time, data keptnData) api.Event {
	ext := map[string]any{extTrigger: ev.ID}
	for _, k := range []string{extContext, extCommit, extKeptnVer} {
		if v, ok := ev.Extensions[k]; ok {
			ext[k] = v
		}
	}
	b, _ := json.Marshal(data)
	t := now.UTC()
	return api.Event{ID: answerID(base, phase), Source: source, Type: answerType(ev.Type, phase), SpecVersion: "1.0",
		Time: &t, DataContentType: "application/json", Extensions: ext, Data: b, Produced: true}
}

// triggerData reads project, stage, service and labels from a triggering event's data.
func triggerData(ev api.Event) keptnData {
	var d keptnData
	_ = json.Unmarshal(ev.Data, &d)
	return keptnData{Project: d.Project, Stage: d.Stage, Service: d.Service, Labels: d.Labels}
}

// Started is the .started answer of one action (base: AnswerBase of its key) to a .triggered event, naming the run that handles it.
func Started(ev api.Event, base, run, source string, now time.Time) api.Event {
	a := answer(ev, base, phaseStarted, source, now, triggerData(ev))
	if run != "" {
		a.Extensions[extRun] = run
	}
	return a
}

// TaskResult is how one task of an action ended: its logs, and the error it failed with (nil: it succeeded).
type TaskResult struct {
	Name string
	Logs string
	Err  error
}

// Finished is the .finished answer of one action (base: AnswerBase of its key) to a .triggered event, in Keptn's shapes: succeeded/pass
// with "Task '<name>' finished successfully!\n\nLogs:\n<logs>\n\n" for each task, or errored/fail with
// "Task '<name>' failed: <error>\n\nLogs: \n<logs>" for the first task that failed; for
// sh.keptn.event.test.triggered, data.test.start and end (RFC 3339) when the run started and ended.
func Finished(ev api.Event, base, source string, now time.Time, tasks []TaskResult, start, end *time.Time) api.Event {
	d := triggerData(ev)
	d.Status, d.Result = statusSucceeded, resultPass
	var msg strings.Builder
	for _, t := range tasks {
		if t.Err != nil {
			d.Status, d.Result = statusErrored, resultFail
			msg.Reset()
			if t.Logs != "" {
				fmt.Fprintf(&msg, "Task '%s' failed: %s\n\nLogs: \n%s", t.Name, t.Err, t.Logs)
			} else {
				fmt.Fprintf(&msg, "Task '%s' failed: %s", t.Name, t.Err)
			}
			break
		}
		fmt.Fprintf(&msg, "Task '%s' finished successfully!\n\nLogs:\n%s\n\n", t.Name, t.Logs)
	}
	d.Message = msg.String()
	if ev.Type == "sh.keptn.event.test"+phaseTriggered && start != nil && end != nil {
		d.Test = &testTimes{Start: start.UTC().Format(time.RFC3339), End: end.UTC().Format(time.RFC3339)}
	}
	return answer(ev, base, phaseFinished, source, now, d)
}

// Errored is the .finished answer of an action that could not start: errored/fail with message.
func Errored(ev api.Event, base, source string, now time.Time, message string) api.Event {
	d := triggerData(ev)
	d.Status, d.Result, d.Message = statusErrored, resultFail, message
	return answer(ev, base, phaseFinished, source, now, d)
}
