package pid1_test

import (
	"testing"

	"github.com/runplane/runplane/internal/inpod/pid1"
)

func TestReport(t *testing.T) {
	tests := []struct {
		msg  string
		want pid1.Report
	}{
		{"output: 0 bytes", pid1.Report{OutputBytes: 0}},
		{"output: 12345 bytes", pid1.Report{OutputBytes: 12345}},
		{"signal: killed\noutput: 7 bytes", pid1.Report{Signal: "signal: killed", OutputBytes: 7}},
		{"signal: terminated", pid1.Report{Signal: "signal: terminated", OutputBytes: -1}}, // an older runplane
		{"", pid1.Report{OutputBytes: -1}},
		{"Error: container killed", pid1.Report{OutputBytes: -1}},               // a runtime's own message
		{"output: -3 bytes", pid1.Report{OutputBytes: -1}},                      // not a count
		{"output: 12 lines", pid1.Report{OutputBytes: -1}},                      // not bytes
		{"output: 99999999999999999999 bytes", pid1.Report{OutputBytes: -1}},    // too big
		{"  output: 5 bytes  \n\n", pid1.Report{OutputBytes: 5}},                // trimmed
		{"runplane-pid1: exec: \"x\": not found", pid1.Report{OutputBytes: -1}}, // cannot start
	}
	for _, tc := range tests {
		if got := pid1.ParseReport(tc.msg); got != tc.want {
			t.Errorf("ParseReport(%q) = %+v, want %+v", tc.msg, got, tc.want)
		}
	}
	for _, r := range []pid1.Report{{OutputBytes: 0}, {Signal: "signal: killed", OutputBytes: 1 << 40}} {
		if got := pid1.ParseReport(r.String()); got != r {
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
		r := pid1.ParseReport(msg)
		if r.OutputBytes < -1 {
			t.Fatalf("ParseReport(%q).OutputBytes = %d", msg, r.OutputBytes)
		}
		if r.OutputBytes >= 0 {
			if again := pid1.ParseReport(r.String()); again.OutputBytes != r.OutputBytes {
				t.Fatalf("round trip of %+v gave %+v", r, again)
			}
		}
	})
}
