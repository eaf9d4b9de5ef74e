package api

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

// ResourceEventSinks guards event sinks, by name.
const ResourceEventSinks = "event_sinks"

// EventSink is a receiver of runplane's events out: every CloudEvent whose type starts with one of Types (all of
// them when Types is empty) is POSTed to URL in structured mode, at least once, with Headers set.
type EventSink struct {
	Name string `json:"name"`
	// URL is where events are POSTed: http or https, without credentials in it (put them in a header).
	URL string `json:"url"`
	// Types are prefixes of the event types the sink receives ("dev.runplane.job." for every job event); empty
	// receives every event.
	Types []string `json:"types"`
	// Headers are set on every delivery. A credential must name a runner secret (SecretRef), never be written
	// out: its value is read when an event is sent and never returned nor logged.
	Headers map[string]HeaderValue `json:"headers,omitempty"`
	// IncludeResult adds a job's json_data and a run's step outputs to its events' data.
	IncludeResult bool `json:"include_result,omitempty"`
}

// HeaderValue is a header's value: a literal Value, or the value of a runner's secret (SecretRef). In JSON a
// literal is a plain string; a secret is {"secretRef": {"runner": "r", "key": "k"}}.
type HeaderValue struct {
	Value     string     `json:"value,omitempty"`
	SecretRef *SecretRef `json:"secretRef,omitempty"`
}

// SecretRef names one key of a runner's secret.
type SecretRef struct {
	Runner string `json:"runner"`
	Key    string `json:"key"`
}

// MarshalJSON writes a literal as a plain string and a secret reference as {"secretRef": ...}.
func (v HeaderValue) MarshalJSON() ([]byte, error) {
	if v.SecretRef != nil {
		type plain HeaderValue
		return json.Marshal(plain{SecretRef: v.SecretRef})
	}
	return json.Marshal(v.Value)
}

// UnmarshalJSON reads a plain string or an object {"value"} or {"secretRef"}, refusing unknown keys.
func (v *HeaderValue) UnmarshalJSON(b []byte) error {
	*v = HeaderValue{}
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &v.Value)
	}
	type plain HeaderValue
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode((*plain)(v))
}

// Header names that a sink may not set: the delivery sets them (Content-Type, Content-Length, Host) or they
// belong to the connection.
var reservedHeaders = []string{"content-type", "content-length", "host", "transfer-encoding", "connection",
	"te", "trailer", "upgrade", "keep-alive", "proxy-connection", "expect"}

// sensitiveHeader reports whether a header's name says it carries a credential, whose value must then come from a
// secret: a literal would be returned by every GET of the sink.
func sensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "cookie":
		return true
	}
	for _, w := range []string{"token", "secret", "key", "password", "signature", "auth", "credential"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// Validate checks a sink without a store (the secrets it names are checked where they are stored).
func (s *EventSink) Validate() error {
	if err := ValidateName(s.Name); err != nil {
		return err
	}
	if err := validateSinkURL(s.URL); err != nil {
		return err
	}
	for i, t := range s.Types {
		if t == "" || len(t) > 255 || strings.ContainsFunc(t, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return Invalidf("types[%d] %.40q: want an event type prefix without spaces, up to 255 characters", i, t)
		}
	}
	for name, v := range s.Headers {
		if err := validateHeader(name, v); err != nil {
			return err
		}
	}
	return nil
}

func validateSinkURL(raw string) error {
	if raw == "" {
		return Invalidf("url is required")
	}
	if len(raw) > 2048 {
		return Invalidf("url: longer than 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Invalidf("url %.80q: not a URL", raw)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return Invalidf("url %.80q: want an http or https URL", raw)
	case u.Host == "" || u.Hostname() == "":
		return Invalidf("url %.80q: no host", raw)
	case u.User != nil:
		return Invalidf("url: credentials in the URL are refused; set a header with a secretRef instead")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return Invalidf("url %.80q: a fragment is not sent; remove it", raw)
	}
	return nil
}

func validateHeader(name string, v HeaderValue) error {
	if name == "" || len(name) > 128 || strings.ContainsFunc(name, func(r rune) bool { return !headerTokenChar(r) }) {
		return Invalidf("headers: %.40q is not a header name", name)
	}
	if slices.Contains(reservedHeaders, strings.ToLower(name)) {
		return Invalidf("headers: %s is set by the delivery and may not be given", name)
	}
	if v.SecretRef != nil {
		if v.Value != "" {
			return Invalidf("headers.%s: give a value or a secretRef, not both", name)
		}
		if v.SecretRef.Runner == "" || v.SecretRef.Key == "" {
			return Invalidf("headers.%s.secretRef: runner and key are required", name)
		}
		return nil
	}
	if sensitiveHeader(name) {
		return Invalidf("headers.%s carries a credential: name a runner secret ({\"secretRef\": {\"runner\": ..., \"key\": ...}}) instead of writing its value", name)
	}
	if len(v.Value) > 4096 || strings.ContainsFunc(v.Value, func(r rune) bool { return r == '\r' || r == '\n' || r == 0 }) {
		return Invalidf("headers.%s: a value must be one line of up to 4096 characters", name)
	}
	return nil
}

// headerTokenChar reports whether r may appear in a header name (RFC 9110 token).
func headerTokenChar(r rune) bool {
	return r < 0x7f && r > ' ' && !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
}

// MatchesType reports whether the sink receives events of type t.
func (s *EventSink) MatchesType(t string) bool {
	if len(s.Types) == 0 {
		return true
	}
	return slices.ContainsFunc(s.Types, func(p string) bool { return strings.HasPrefix(t, p) })
}
