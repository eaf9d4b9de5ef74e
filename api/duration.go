package api

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration that reads "90s"-style strings or a number of seconds, and writes strings.
type Duration time.Duration

// MarshalJSON writes d as a Go duration string such as "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string ("30s", "1m") or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		*d = 0
	case float64:
		if v < 0 || v > float64(1<<62)/float64(time.Second) {
			return fmt.Errorf("duration %v out of range", v)
		}
		*d = Duration(v * float64(time.Second))
	case string:
		x, err := ParseDuration(v)
		if err != nil {
			return err
		}
		*d = Duration(x)
	default:
		return fmt.Errorf("duration must be a string like \"30s\" or a number of seconds")
	}
	return nil
}

// ParseDuration reads "30s"-style strings and bare numbers of seconds.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if x, err := time.ParseDuration(s); err == nil {
		return x, nil
	}
	var secs float64
	if _, err := fmt.Sscanf(s, "%g", &secs); err == nil && fmt.Sprint(secs) == s && secs >= 0 {
		return time.Duration(secs * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("invalid duration %q: want a value like \"30s\" or \"2m\"", s)
}
