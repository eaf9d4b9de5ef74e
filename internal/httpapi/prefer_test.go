package httpapi

import (
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

func TestParsePrefer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      []string
		want    preference
		wantErr bool
	}{
		{name: "none"},
		{name: "async", in: []string{"respond-async"}, want: preference{async: true}},
		{name: "case and spaces", in: []string{"  Respond-Async ; foo=bar"}, want: preference{async: true}},
		{name: "async with wait", in: []string{"respond-async, wait=10"}, want: preference{async: true, wait: 10 * time.Second}},
		{name: "two headers", in: []string{"wait=5", "respond-async"}, want: preference{async: true, wait: 5 * time.Second}},
		{name: "quoted wait", in: []string{`respond-async, wait="3"`}, want: preference{async: true, wait: 3 * time.Second}},
		{name: "wait capped", in: []string{"respond-async, wait=99999"}, want: preference{async: true, wait: api.MaxSyncTimeout}},
		{name: "unknown ignored", in: []string{"return=minimal, handling=lenient"}},
		{name: "wait without value", in: []string{"respond-async, wait"}, wantErr: true},
		{name: "wait not a number", in: []string{"wait=soon"}, wantErr: true},
		{name: "negative wait", in: []string{"wait=-1"}, wantErr: true},
		{name: "too long", in: []string{string(make([]byte, maxPreferLen+1))}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePrefer(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parsePrefer(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("parsePrefer(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParsePrefer(f *testing.F) {
	for _, s := range []string{"respond-async", "respond-async, wait=10", "wait=x", `a="b;c", d`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePrefer([]string{s})
		if err == nil && (p.wait < 0 || p.wait > api.MaxSyncTimeout) {
			t.Errorf("parsePrefer(%q) wait = %v, out of range", s, p.wait)
		}
	})
}
