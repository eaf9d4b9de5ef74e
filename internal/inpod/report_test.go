package inpod_test

import (
	"testing"

	"github.com/runplane/runplane/internal/inpod"
)

func TestReport(t *testing.T) {
	tests := []struct {
		msg  string
		want inpod.Report
	}{
		{"output: 0 bytes", inpod.Report{OutputBytes: 0}},
		{"output: 12345 bytes", inpod.Report{OutputBytes: 12345}},
		{"signal: killed\noutput: 7 bytes", inpod.Report{Signal: "signal: killed", OutputBytes: 7}},
		{"signal: terminated", inpod.Report{Signal: "signal: terminated", OutputBytes: -1}}, // an older runplane
		{"", inpod.Report{OutputBytes: -1}},
		{"Error: container killed", inpod.Report{OutputBytes: -1}},                  // a runtime's own message
		{"output: -3 bytes", inpod.Report{OutputBytes: -1}},                         // not a count
		{"output: 12 lines", inpod.Report{OutputBytes: -1}},                         // not bytes
		{"output: 99999999999999999999 bytes", inpod.Report{OutputBytes: -1}},       // too big
		{"  output: 5 bytes  \n\n", inpod.Report{OutputBytes: 5}},                   // trimmed
		{"runplane pod run: exec: \"x\": not found", inpod.Report{OutputBytes: -1}}, // cannot start
	}
	for _, tc := range tests {
		if got := inpod.ParseReport(tc.msg); got != tc.want {
			t.Errorf("ParseReport(%q) = %+v, want %+v", tc.msg, got, tc.want)
		}
	}
	for _, r := range []inpod.Report{{OutputBytes: 0}, {Signal: "signal: killed", OutputBytes: 1 << 40}} {
		if got := inpod.ParseReport(r.String()); got != r {
			t.Errorf("ParseReport(%q) = %+v, want %+v", r.String(), got, r)
		}
	}
}

// FuzzParseReport: a termination message is whatever the container left in its termination log.
func FuzzParseReport(f *testing.F) {
	f.Add("signal: killed\noutput: 7 bytes")
	f.Add("output: 0 bytes")
	f.Add("output: \n bytes")
	f.Fuzz(func(t *testing.T, msg string) {
		r := inpod.ParseReport(msg)
		if r.OutputBytes < -1 {
			t.Fatalf("ParseReport(%q).OutputBytes = %d", msg, r.OutputBytes)
		}
		if r.OutputBytes >= 0 {
			if again := inpod.ParseReport(r.String()); again.OutputBytes != r.OutputBytes {
				t.Fatalf("round trip of %+v gave %+v", r, again)
			}
		}
	})
}
