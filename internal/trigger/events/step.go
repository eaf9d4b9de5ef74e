package events

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/runplane/runplane/api"
)

// A workflow step sends events through the metadata API (POST /api/v1/metadata/events) in Relay's shape,
// {data, key}, plus runplane's optional type. Each becomes a CloudEvent that enters the bus as one posted to
// /api/v1/events does:
//
//   - source: StepSourcePrefix + the workflow's name (RBAC on events is by source: the run's owner needs events
//     write on it);
//   - id: <run>/<step>/<attempt>/<key>, or, without a key, <run>/<step>/<attempt>/sha256:<hash of type and data>,
//     so a step that retries its POST is deduplicated (source + id) and the same event from another run is not;
//   - type: the body's type, else a string "type" in the data, else StepEventType;
//   - subject: the run's id; extensions runplanestep and runplaneattempt name the step and its attempt.

// StepSourcePrefix starts the source of every event a workflow step sends; the workflow's name follows.
const StepSourcePrefix = "runplane/workflows/"

// StepEventType is the type of a step's event that names none.
const StepEventType = "dev.runplane.step.event"

// maxStepKey bounds a step event's key, which becomes part of the event's id.
const maxStepKey = 200

// StepOrigin is the step an event comes from.
type StepOrigin struct {
	Workflow, Run, Step string
	Attempt             int
}

// StepSource is the source of the events the steps of workflow send.
func StepSource(workflow string) string { return StepSourcePrefix + workflow }

// StepEvent makes the CloudEvent a step sends with body (Relay's {data, key}, and an optional type) at now.
// Errors are *api.InvalidError naming the field.
func StepEvent(o StepOrigin, body []byte, now time.Time) (api.Event, error) {
	var in struct {
		Data json.RawMessage `json:"data"`
		Key  string          `json:"key"`
		Type string          `json:"type"`
	}
	// Other fields are ignored: Relay's own clients send more (a source naming their trigger).
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&in); err != nil {
		return api.Event{}, api.Invalidf("body: %v (want {\"data\": ..., \"key\": ..., \"type\": ...})", err)
	}
	if dec.More() {
		return api.Event{}, api.Invalidf("body: one JSON object expected")
	}
	if len(in.Data) == 0 || bytes.Equal(in.Data, []byte("null")) {
		return api.Event{}, api.Invalidf("data: required")
	}
	typ := in.Type
	if typ == "" {
		var d struct {
			Type any `json:"type"`
		}
		if json.Unmarshal(in.Data, &d) == nil {
			typ, _ = d.Type.(string)
		}
	}
	if typ == "" {
		typ = StepEventType
	}
	if err := checkToken("type", typ, 253); err != nil {
		return api.Event{}, err
	}
	if err := checkToken("key", in.Key, maxStepKey); in.Key != "" && err != nil {
		return api.Event{}, err
	}
	key := in.Key
	if key == "" {
		h := sha256.New()
		h.Write([]byte(typ))
		h.Write([]byte{0})
		var compact bytes.Buffer
		if json.Compact(&compact, in.Data) == nil {
			h.Write(compact.Bytes())
		} else {
			h.Write(in.Data)
		}
		key = "sha256:" + hex.EncodeToString(h.Sum(nil))[:32]
	}
	e := event.New()
	e.SetID(fmt.Sprintf("%s/%s/%d/%s", o.Run, o.Step, o.Attempt, key))
	e.SetSource(StepSource(o.Workflow))
	e.SetType(typ)
	e.SetSubject(o.Run)
	e.SetTime(now.UTC())
	e.SetExtension("runplanestep", o.Step)
	e.SetExtension("runplaneattempt", strconv.Itoa(o.Attempt))
	if err := e.SetData(event.ApplicationJSON, []byte(in.Data)); err != nil {
		return api.Event{}, api.Invalidf("data: %v", err)
	}
	return FromCloudEvent(e)
}

// checkToken refuses an empty, long or unprintable value of field.
func checkToken(field, v string, max int) error {
	if v == "" || len(v) > max {
		return api.Invalidf("%s: 1 to %d characters", field, max)
	}
	if strings.IndexFunc(v, func(c rune) bool { return c < 0x21 || c == 0x7f }) >= 0 {
		return api.Invalidf("%s %q: no spaces or control characters", field, v)
	}
	return nil
}
