package events

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/runplane/runplane/api"
)

// MaxBatch bounds the events of one batch.
const MaxBatch = 1000

// ParseHTTP reads the CloudEvents (1.0) of an HTTP request in any of the HTTP binding's modes: binary (ce-*
// headers, the body as data), structured (Content-Type application/cloudevents+json) or batched
// (application/cloudevents-batch+json). The caller bounds the body. Errors are *api.InvalidError naming the
// attribute that is missing or wrong and, in a batch, the event's index.
func ParseHTTP(r *http.Request) ([]api.Event, error) {
	var evs []event.Event
	if cehttp.IsHTTPBatch(r.Header) {
		var err error
		if evs, err = cehttp.NewEventsFromHTTPRequest(r); err != nil {
			return nil, parseError(err)
		}
		if len(evs) == 0 {
			return nil, api.Invalidf("the batch holds no event")
		}
		if len(evs) > MaxBatch {
			return nil, api.Invalidf("the batch holds %d events, at most %d", len(evs), MaxBatch)
		}
	} else {
		msg := cehttp.NewMessageFromHttpRequest(r)
		if msg.ReadEncoding() == binding.EncodingUnknown {
			ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			return nil, api.Invalidf("not a CloudEvent: missing attribute specversion (binary mode: the ce-specversion header; "+
				"structured mode: Content-Type application/cloudevents+json, not %q)", ct)
		}
		e, err := binding.ToEvent(r.Context(), msg)
		if err != nil {
			return nil, parseError(err)
		}
		evs = []event.Event{*e}
	}
	out := make([]api.Event, 0, len(evs))
	for i, e := range evs {
		a, err := FromCloudEvent(e)
		if err != nil {
			if len(evs) > 1 {
				return nil, api.Invalidf("event %d: %s", i, err.Error())
			}
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// parseError words an SDK error as a 400.
func parseError(err error) error {
	var v event.ValidationError
	if errors.As(err, &v) {
		return invalidAttributes(v)
	}
	return api.Invalidf("not a valid CloudEvent: %s", strings.TrimSpace(err.Error()))
}

// invalidAttributes names every attribute a validation refused: "missing or invalid attribute id: ...".
func invalidAttributes(v event.ValidationError) error {
	var parts []string
	for _, k := range []string{"specversion", "id", "source", "type", "time", "datacontenttype", "dataschema", "subject"} {
		if e, ok := v[k]; ok {
			parts = append(parts, fmt.Sprintf("attribute %s: %v", k, e))
			delete(v, k)
		}
	}
	for k, e := range v {
		parts = append(parts, fmt.Sprintf("attribute %s: %v", k, e))
	}
	return api.Invalidf("missing or invalid %s", strings.Join(parts, "; "))
}

// FromCloudEvent converts and validates an SDK event. JSON data stays JSON; other text becomes a JSON string, and
// bytes that are not UTF-8 a base64 string (DataBase64).
func FromCloudEvent(e event.Event) (api.Event, error) {
	if err := e.Validate(); err != nil {
		var v event.ValidationError
		if errors.As(err, &v) {
			return api.Event{}, invalidAttributes(v)
		}
		return api.Event{}, api.Invalidf("not a valid CloudEvent: %s", strings.TrimSpace(err.Error()))
	}
	a := api.Event{ID: e.ID(), Source: e.Source(), Type: e.Type(), SpecVersion: e.SpecVersion(), Subject: e.Subject(),
		DataContentType: e.DataContentType(), DataSchema: e.DataSchema()}
	if t := e.Time(); !t.IsZero() {
		t = t.UTC()
		a.Time = &t
	}
	if ext := e.Extensions(); len(ext) > 0 {
		a.Extensions = make(map[string]any, len(ext))
		for k, v := range ext {
			a.Extensions[k] = extValue(v)
		}
	}
	data := e.Data()
	switch {
	case len(data) == 0:
	case isJSONType(a.DataContentType) && json.Valid(data):
		a.Data = data
	case utf8.Valid(data) && !e.DataBase64:
		a.Data, _ = json.Marshal(string(data))
	default:
		a.Data, _ = json.Marshal(base64.StdEncoding.EncodeToString(data))
		a.DataBase64 = true
	}
	return a, nil
}

// extValue is an extension's value as JSON has it: strings, numbers and booleans stay; the rest (times, URIs,
// bytes) reads as its canonical string.
func extValue(v any) any {
	switch x := v.(type) {
	case string, bool, int32, int64, float64:
		return x
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	}
	return fmt.Sprint(v)
}

func isJSONType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}
