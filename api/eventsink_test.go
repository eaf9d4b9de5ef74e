package api

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestEventSinkValidate(t *testing.T) {
	secret := HeaderValue{SecretRef: &SecretRef{Runner: "r", Key: "k"}}
	tests := []struct {
		name    string
		s       EventSink
		wantErr string // "" for valid
	}{
		{"minimal", EventSink{Name: "s", URL: "http://127.0.0.1:8080/events"}, ""},
		{"https with query", EventSink{Name: "s", URL: "https://hooks.example.com/e?team=ops"}, ""},
		{"types and headers", EventSink{Name: "s", URL: "https://h/e", Types: []string{"dev.runplane.job."},
			Headers: map[string]HeaderValue{"X-Team": {Value: "ops"}, "Authorization": secret}}, ""},
		{"no name", EventSink{URL: "https://h/e"}, "name is required"},
		{"no url", EventSink{Name: "s"}, "url is required"},
		{"ftp", EventSink{Name: "s", URL: "ftp://h/e"}, "want an http or https URL"},
		{"file", EventSink{Name: "s", URL: "file:///etc/passwd"}, "want an http or https URL"},
		{"relative", EventSink{Name: "s", URL: "/events"}, "want an http or https URL"},
		{"no host", EventSink{Name: "s", URL: "http:///e"}, "no host"},
		{"credentials", EventSink{Name: "s", URL: "https://u:p@h/e"}, "credentials in the URL"},
		{"fragment", EventSink{Name: "s", URL: "https://h/e#x"}, "fragment"},
		{"not a url", EventSink{Name: "s", URL: "http://[::1"}, "not a URL"},
		{"empty type", EventSink{Name: "s", URL: "https://h/e", Types: []string{""}}, "types[0]"},
		{"type with space", EventSink{Name: "s", URL: "https://h/e", Types: []string{"a b"}}, "types[0]"},
		{"bad header name", EventSink{Name: "s", URL: "https://h/e",
			Headers: map[string]HeaderValue{"X Team": {Value: "v"}}}, "is not a header name"},
		{"reserved header", EventSink{Name: "s", URL: "https://h/e",
			Headers: map[string]HeaderValue{"Content-Type": {Value: "text/plain"}}}, "set by the delivery"},
		{"literal credential", EventSink{Name: "s", URL: "https://h/e",
			Headers: map[string]HeaderValue{"Authorization": {Value: "Bearer abc"}}}, "name a runner secret"},
		{"literal api key", EventSink{Name: "s", URL: "https://h/e",
			Headers: map[string]HeaderValue{"X-Api-Key": {Value: "abc"}}}, "name a runner secret"},
		{"newline in value", EventSink{Name: "s", URL: "https://h/e",
			Headers: map[string]HeaderValue{"X-Team": {Value: "a\r\nX-Evil: 1"}}}, "one line"},
		{"value and ref", EventSink{Name: "s", URL: "https://h/e",
			Headers: map[string]HeaderValue{"X-Team": {Value: "a", SecretRef: &SecretRef{Runner: "r", Key: "k"}}}}, "not both"},
		{"ref without key", EventSink{Name: "s", URL: "https://h/e",
			Headers: map[string]HeaderValue{"Authorization": {SecretRef: &SecretRef{Runner: "r"}}}}, "runner and key are required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Validate(%+v) = %v, want nil", tt.s, err)
				}
				return
			}
			if _, ok := err.(*InvalidError); !ok || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate(%+v) = %v, want an InvalidError containing %q", tt.s, err, tt.wantErr)
			}
		})
	}
}

func TestHeaderValueJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want HeaderValue
		out  string // "" if in is refused
	}{
		{"string", `"ops"`, HeaderValue{Value: "ops"}, `"ops"`},
		{"value object", `{"value":"ops"}`, HeaderValue{Value: "ops"}, `"ops"`},
		{"secret ref", `{"secretRef":{"runner":"r","key":"k"}}`, HeaderValue{SecretRef: &SecretRef{Runner: "r", Key: "k"}},
			`{"secretRef":{"runner":"r","key":"k"}}`},
		{"unknown key", `{"secret":"x"}`, HeaderValue{}, ""},
		{"number", `3`, HeaderValue{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got HeaderValue
			err := json.Unmarshal([]byte(tt.in), &got)
			if tt.out == "" {
				if err == nil {
					t.Errorf("Unmarshal(%s) = %+v, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal(%s): %v", tt.in, err)
			}
			b, _ := json.Marshal(got)
			if string(b) != tt.out {
				t.Errorf("Marshal(Unmarshal(%s)) = %s, want %s", tt.in, b, tt.out)
			}
		})
	}
}

func TestEventSinkMatchesType(t *testing.T) {
	tests := []struct {
		name  string
		types []string
		typ   string
		want  bool
	}{
		{"empty matches all", nil, "dev.runplane.run.failed", true},
		{"prefix", []string{"dev.runplane.job."}, "dev.runplane.job.failed", true},
		{"other prefix", []string{"dev.runplane.job."}, "dev.runplane.run.failed", false},
		{"exact", []string{"sh.keptn.event.deploy.finished"}, "sh.keptn.event.deploy.finished", true},
		{"one of several", []string{"x.", "dev.runplane.run."}, "dev.runplane.run.started", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := EventSink{Types: tt.types}
			if got := s.MatchesType(tt.typ); got != tt.want {
				t.Errorf("MatchesType(%v, %q) = %v, want %v", tt.types, tt.typ, got, tt.want)
			}
		})
	}
}

// FuzzEventSink: any body decodes to an error or a sink whose validation does not panic, and a valid sink
// survives a JSON round trip unchanged and still valid.
func FuzzEventSink(f *testing.F) {
	f.Add(`{"name":"s","url":"https://h/e","types":["dev."],"headers":{"X-A":"b","Authorization":{"secretRef":{"runner":"r","key":"k"}}}}`)
	f.Add(`{"name":"s","url":"http://u:p@h/e"}`)
	f.Add(`{"name":"s","url":"https://h/e","headers":{"X":{"value":"a\r\nb"}}}`)
	f.Fuzz(func(t *testing.T, body string) {
		var s EventSink
		if json.Unmarshal([]byte(body), &s) != nil {
			return
		}
		if s.Validate() != nil {
			return
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", s, err)
		}
		var again EventSink
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if err := again.Validate(); err != nil {
			t.Fatalf("round trip of a valid sink %s is invalid: %v", b, err)
		}
	})
}
