package events

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseHTTP(t *testing.T) {
	binary := map[string]string{"ce-specversion": "1.0", "ce-id": "b1", "ce-source": "keptn", "ce-type": "sh.keptn.event.test.triggered",
		"ce-shkeptncontext": "ctx-1", "Content-Type": "application/json"}
	without := func(k string) map[string]string {
		h := map[string]string{}
		for kk, v := range binary {
			if kk != k {
				h[kk] = v
			}
		}
		return h
	}
	tests := []struct {
		name    string
		headers map[string]string
		body    string
		want    int    // events
		check   string // a field of the first event, formatted
		wantErr string
	}{
		{"binary", binary, `{"project":"p"}`, 1, `b1 keptn sh.keptn.event.test.triggered ctx-1 {"project":"p"}`, ""},
		{"binary text data", map[string]string{"ce-specversion": "1.0", "ce-id": "b2", "ce-source": "s", "ce-type": "t", "Content-Type": "text/plain"}, "hello", 1, `b2 s t <nil> "hello"`, ""},
		{"structured", map[string]string{"Content-Type": "application/cloudevents+json"},
			`{"specversion":"1.0","id":"s1","source":"keptn","type":"t","shkeptncontext":"ctx-2","data":{"a":1}}`, 1, `s1 keptn t ctx-2 {"a":1}`, ""},
		{"structured base64", map[string]string{"Content-Type": "application/cloudevents+json"},
			`{"specversion":"1.0","id":"s2","source":"keptn","type":"t","data_base64":"/w=="}`, 1, `s2 keptn t <nil> "/w=="`, ""},
		{"batch", map[string]string{"Content-Type": "application/cloudevents-batch+json"},
			`[{"specversion":"1.0","id":"1","source":"s","type":"t"},{"specversion":"1.0","id":"2","source":"s","type":"t"}]`, 2, `1 s t <nil> `, ""},
		{"binary without id", without("ce-id"), `{}`, 0, "", "missing or invalid attribute id"},
		{"binary without source", without("ce-source"), `{}`, 0, "", "missing or invalid attribute source"},
		{"binary without type", without("ce-type"), `{}`, 0, "", "missing or invalid attribute type"},
		{"binary without specversion", without("ce-specversion"), `{}`, 0, "", "missing attribute specversion"},
		{"plain json", map[string]string{"Content-Type": "application/json"}, `{"id":"x"}`, 0, "", "missing attribute specversion"},
		{"structured without id", map[string]string{"Content-Type": "application/cloudevents+json"},
			`{"specversion":"1.0","source":"s","type":"t"}`, 0, "", "missing or invalid attribute id"},
		{"structured without type", map[string]string{"Content-Type": "application/cloudevents+json"},
			`{"specversion":"1.0","id":"1","source":"s"}`, 0, "", "attribute type"},
		{"structured unknown version", map[string]string{"Content-Type": "application/cloudevents+json"},
			`{"specversion":"0.9","id":"1","source":"s","type":"t"}`, 0, "", "specversion"},
		{"structured not json", map[string]string{"Content-Type": "application/cloudevents+json"}, `{bad`, 0, "", "not a valid CloudEvent"},
		{"batch second without source", map[string]string{"Content-Type": "application/cloudevents-batch+json"},
			`[{"specversion":"1.0","id":"1","source":"s","type":"t"},{"specversion":"1.0","id":"2","type":"t"}]`, 0, "", "event 1: missing or invalid attribute source"},
		{"empty batch", map[string]string{"Content-Type": "application/cloudevents-batch+json"}, `[]`, 0, "", "no event"},
		{"batch not a list", map[string]string{"Content-Type": "application/cloudevents-batch+json"}, `{}`, 0, "", "not a valid CloudEvent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/api/v1/events", strings.NewReader(tt.body))
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			evs, err := ParseHTTP(r)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !isInvalid(err) {
					t.Fatalf("ParseHTTP() = %v, want a 400 containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseHTTP() = %v", err)
			}
			if len(evs) != tt.want {
				t.Fatalf("ParseHTTP() = %d events, want %d", len(evs), tt.want)
			}
			e := evs[0]
			got := strings.Join([]string{e.ID, e.Source, e.Type, fmtAny(e.Extensions["shkeptncontext"]), string(e.Data)}, " ")
			if got != tt.check {
				t.Errorf("ParseHTTP() first event = %s, want %s", got, tt.check)
			}
		})
	}
}

func fmtAny(v any) string {
	if v == nil {
		return "<nil>"
	}
	return v.(string)
}

func FuzzParseHTTP(f *testing.F) {
	f.Add("application/cloudevents+json", "", `{"specversion":"1.0","id":"1","source":"s","type":"t","data":{"a":1}}`)
	f.Add("application/cloudevents-batch+json", "", `[{"specversion":"1.0","id":"1","source":"s","type":"t"}]`)
	f.Add("application/json", "1.0", `{"a":1}`)
	f.Add("text/plain", "1.0", "\xff")
	f.Fuzz(func(t *testing.T, ct, specversion, body string) {
		r := httptest.NewRequest("POST", "/api/v1/events", strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		if specversion != "" {
			r.Header.Set("ce-specversion", specversion)
			r.Header.Set("ce-id", "1")
			r.Header.Set("ce-source", "s")
			r.Header.Set("ce-type", "t")
		}
		evs, err := ParseHTTP(r)
		if err != nil {
			if !isInvalid(err) {
				t.Fatalf("ParseHTTP error %T %v is not a 400", err, err)
			}
			return
		}
		for _, e := range evs {
			if e.ID == "" || e.Source == "" || e.Type == "" {
				t.Fatalf("ParseHTTP accepted %+v without its required attributes", e)
			}
			if len(e.Data) > 0 && !json.Valid(e.Data) {
				t.Fatalf("ParseHTTP data %q is not JSON", e.Data)
			}
		}
	})
}
