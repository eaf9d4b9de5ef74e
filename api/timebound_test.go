package api

import (
	"strings"
	"testing"
	"time"
)

func TestParseTimeBound(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, in string
		want     time.Time
		wantErr  string
	}{
		{"rfc 3339", "2026-12-01T09:30:00Z", time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC), ""},
		{"rfc 3339 with fraction and offset", "2026-12-01T10:30:00.5+01:00", time.Date(2026, 12, 1, 9, 30, 0, 5e8, time.UTC), ""},
		{"date", "2026-12-01", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), ""},
		{"hours", "24h", now.Add(-24 * time.Hour), ""},
		{"minutes and seconds", "1m30s", now.Add(-90 * time.Second), ""},
		{"zero", "0s", now, ""},
		{"days", "7d", now.Add(-7 * 24 * time.Hour), ""},
		{"days and hours", "1d12h", now.Add(-36 * time.Hour), ""},
		{"empty", "", time.Time{}, "empty"},
		{"negative", "-1h", time.Time{}, "negative duration"},
		{"negative days", "-1d", time.Time{}, "not a duration"},
		{"plus days", "+1d", time.Time{}, "not a duration"},
		{"no unit", "24", time.Time{}, "not a duration"},
		{"words", "yesterday", time.Time{}, "not a duration"},
		{"days twice", "1d1d", time.Time{}, "not a duration"},
		{"days after hours", "1h1d", time.Time{}, "not a duration"},
		{"too many days to count", "99999999999999999999d", time.Time{}, "too far back"},
		{"too far back", "100000d", time.Time{}, "too far back"},
		{"too far back in hours", "2000000h", time.Time{}, "too far back"},
		{"bad date", "2026-13-01", time.Time{}, "want an RFC 3339 time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTimeBound(tt.in, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseTimeBound(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("ParseTimeBound(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

// FuzzParseTimeBound: a bound is either refused or a UTC time no later than now for a duration, and never panics.
func FuzzParseTimeBound(f *testing.F) {
	for _, s := range []string{"", "24h", "7d", "1d12h", "-1h", "2026-12-01", "2026-12-01T09:30:00Z",
		"0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999-23:59", "99999999999999999999d", "1d-1h", "d", "0d0s"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTimeBound(s, now)
		if err != nil {
			if got != (time.Time{}) {
				t.Errorf("ParseTimeBound(%q) = %v with error %v, want the zero time", s, got, err)
			}
			return
		}
		if got.Location() != time.UTC {
			t.Errorf("ParseTimeBound(%q) = %v, want UTC", s, got)
		}
		if _, derr := parseLookback(s); derr == nil && (got.After(now) || got.Year() < 1800) {
			t.Errorf("ParseTimeBound(%q) = %v, want a time at most 200 years before %v", s, got, now)
		}
	})
}
