package api

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxLookback bounds a relative time bound: 200 years, well inside what a time.Duration holds.
const maxLookback = 200 * 365 * 24 * time.Hour

// ParseTimeBound reads a bound of a list's time filter (?since=, ?until=): an RFC 3339 time
// ("2026-12-01T09:00:00Z"), a date ("2026-12-01", midnight UTC), or a duration meaning that long before now:
// a Go duration ("24h", "90m", "1h30m") optionally after a number of days ("7d", "1d12h"). The result is in UTC.
func ParseTimeBound(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("empty: want an RFC 3339 time, a date or a duration such as 24h or 7d")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	d, err := parseLookback(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want an RFC 3339 time (2026-12-01T09:00:00Z), a date (2026-12-01) "+
			"or a duration before now (24h, 7d): %w", s, err)
	}
	return now.Add(-d).UTC(), nil
}

// parseLookback reads "[<days>d][<Go duration>]", not negative and at most maxLookback.
func parseLookback(s string) (time.Duration, error) {
	var d time.Duration
	rest := s
	if i := strings.IndexByte(s, 'd'); i > 0 && strings.Trim(s[:i], "0123456789") == "" {
		days, err := strconv.Atoi(s[:i])
		if err != nil || days > int(maxLookback/(24*time.Hour)) {
			return 0, errors.New("too far back")
		}
		d, rest = time.Duration(days)*24*time.Hour, s[i+1:]
		if rest == "" {
			return d, nil
		}
	}
	x, err := time.ParseDuration(rest)
	switch {
	case err != nil:
		return 0, errors.New("not a duration")
	case x < 0:
		return 0, errors.New("negative duration")
	case x > maxLookback-d:
		return 0, errors.New("too far back")
	}
	return d + x, nil
}
