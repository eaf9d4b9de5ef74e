package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestLoggerDurationsHaveUnits checks that the server's log writes durations with their unit in both formats.
func TestLoggerDurationsHaveUnits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format string
		want   []string
	}{
		{"text", []string{"duration=1.5s", "queued=250ms", "n=3"}},
		{"json", []string{`"duration":"1.5s"`, `"queued":"250ms"`, `"n":3`}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			log, err := newLogger(&buf, tt.format, "info")
			if err != nil {
				t.Fatal(err)
			}
			log.With("queued", 250*time.Millisecond).Info("job ended", "duration", 1500*time.Millisecond, "n", 3)
			for _, w := range tt.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("%s log %q lacks %s", tt.format, buf.String(), w)
				}
			}
		})
	}
}
