package httpapi

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// List filters. Every filter is a query parameter given at most once (status may repeat); an empty one is no
// filter. Bad values answer 400 naming the parameter. since and until bound the creation time: since inclusive,
// until exclusive, each an RFC 3339 time, a date, or a duration meaning that long before now (api.ParseTimeBound).

// jobQuery reads GET /jobs's filters: ?task, ?status (repeatable, comma-separated), ?owner, ?run, ?since, ?until.
func jobQuery(q url.Values, now time.Time) (store.JobFilter, error) {
	var f store.JobFilter
	var err error
	if f.Task, err = single(q, "task"); err != nil {
		return f, err
	}
	if f.Owner, err = single(q, "owner"); err != nil {
		return f, err
	}
	if f.Run, err = single(q, "run"); err != nil {
		return f, err
	}
	if f.Status, err = statuses(q, api.JobQueued, api.JobRunning, api.JobSucceeded, api.JobFailed, api.JobCancelled); err != nil {
		return f, err
	}
	f.Since, f.Until, err = timeRange(q, now)
	return f, err
}

// auditQuery reads GET /audit_logs's filters: ?user (a username or user id), ?event_type, ?event_category,
// ?event_target, ?status, ?since, ?until.
func auditQuery(q url.Values, now time.Time) (store.AuditFilter, error) {
	var f store.AuditFilter
	for _, p := range []struct {
		name string
		dst  *string
	}{
		{"user", &f.User}, {"event_type", &f.EventType}, {"event_category", &f.Category},
		{"event_target", &f.EventTarget}, {"status", &f.Status},
	} {
		v, err := single(q, p.name)
		if err != nil {
			return f, err
		}
		*p.dst = v
	}
	switch f.Status {
	case "", api.AuditSuccess, api.AuditFailure, api.AuditDenied:
	default:
		return f, api.Invalidf("query parameter status: unknown status %q: want success, failure or denied", f.Status)
	}
	var err error
	f.Since, f.Until, err = timeRange(q, now)
	return f, err
}

// single returns query parameter name, refusing it given more than once.
func single(q url.Values, name string) (string, error) {
	switch vs := q[name]; len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	default:
		return "", api.Invalidf("query parameter %s: given %d times, want it once", name, len(vs))
	}
}

// timeRange reads ?since and ?until.
func timeRange(q url.Values, now time.Time) (since, until time.Time, err error) {
	if since, err = timeParam(q, "since", now); err != nil {
		return
	}
	until, err = timeParam(q, "until", now)
	return
}

func timeParam(q url.Values, name string, now time.Time) (time.Time, error) {
	v, err := single(q, name)
	if err != nil || v == "" {
		return time.Time{}, err
	}
	t, err := api.ParseTimeBound(v, now)
	if err != nil {
		return time.Time{}, api.Invalidf("query parameter %s: %v", name, err)
	}
	if t.IsZero() && name == "until" {
		// The zero time is no bound to the store; until the first instant of year 1 is nothing, as is 1ns after.
		t = t.Add(time.Nanosecond)
	}
	return t, nil
}

// statuses reads ?status: one or more (repeated or comma-separated) of known, each once.
func statuses[S ~string](q url.Values, known ...S) ([]S, error) {
	var out []S
	for _, v := range q["status"] {
		for _, s := range strings.Split(v, ",") {
			st := S(strings.TrimSpace(s))
			switch {
			case st == "":
			case !slices.Contains(known, st):
				names := make([]string, len(known))
				for i, k := range known {
					names[i] = string(k)
				}
				return nil, api.Invalidf("query parameter status: unknown status %q: want %s or %s", s,
					strings.Join(names[:len(names)-1], ", "), names[len(names)-1])
			case !slices.Contains(out, st):
				out = append(out, st)
			}
		}
	}
	return out, nil
}
