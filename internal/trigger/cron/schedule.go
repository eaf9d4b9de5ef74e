package cron

import (
	"errors"
	"fmt"
	"strings"
	"time"

	robfig "github.com/netresearch/go-cron"

	"github.com/runplane/runplane/api"
)

// parser reads 5 fields, or 6 with seconds first, and the @-descriptors. It is used as a parser only: the loop
// below, not go-cron's scheduler, decides when to fire.
var parser = robfig.NewParser(robfig.SecondOptional | robfig.Minute | robfig.Hour | robfig.Dom | robfig.Month |
	robfig.Dow | robfig.Descriptor)

// Schedule is a parsed schedule in its time zone.
type Schedule struct {
	spec *robfig.SpecSchedule
	loc  *time.Location
}

// Parse parses a schedule read in loc. Errors are *api.InvalidError naming the schedule field.
//
// @every is refused: its times depend on when a server started counting, so two servers (or one restarted)
// would not agree on them, and a time's firing could not be made exactly-once. @reboot and @triggered name no
// time at all.
func Parse(spec string, loc *time.Location) (Schedule, error) {
	if err := checkText(spec); err != nil {
		return Schedule{}, err
	}
	s := strings.TrimSpace(spec)
	if strings.HasPrefix(s, "@every") || strings.HasPrefix(s, "@reboot") || strings.HasPrefix(s, "@triggered") ||
		strings.HasPrefix(s, "@manual") || strings.HasPrefix(s, "@none") {
		return Schedule{}, api.Invalidf("schedule: %q: only cron fields and @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly are supported", spec)
	}
	parsed, err := parser.Parse(s)
	if err != nil {
		return Schedule{}, api.Invalidf("schedule: %q: %v", spec, err)
	}
	ss, ok := parsed.(*robfig.SpecSchedule)
	if !ok {
		return Schedule{}, api.Invalidf("schedule: %q: not a cron schedule", spec)
	}
	if loc == nil {
		loc = time.UTC
	}
	sch := Schedule{spec: ss, loc: loc}
	if sch.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return Schedule{}, api.Invalidf("schedule: %q: never fires", spec)
	}
	return sch, nil
}

// checkText is the part of api.CronJob.Validate that concerns the schedule alone.
func checkText(spec string) error {
	c := api.CronJob{Name: "x", Task: "x", Schedule: spec}
	err := c.Validate()
	var inv *api.InvalidError
	if err != nil && !errors.As(err, &inv) {
		return fmt.Errorf("schedule: %w", err)
	}
	return err
}

// Next is the first time of the schedule strictly after t; the zero time if there is none (within go-cron's
// search limit).
func (s Schedule) Next(t time.Time) time.Time {
	n := s.spec.Next(t.In(s.loc))
	if n.IsZero() {
		return n
	}
	return n.UTC()
}

// Latest is the last time of the schedule at or before t, and whether it is after since: the time a late loop
// fires (once) for all the times it missed in (since, t].
func (s Schedule) Latest(since, t time.Time) (time.Time, bool) {
	first := s.Next(since)
	if first.IsZero() || first.After(t) {
		return time.Time{}, false
	}
	// The previous time before t+1s (times are whole seconds) is the latest at or before t.
	prev := s.spec.Prev(t.Truncate(time.Second).Add(time.Second).In(s.loc))
	if prev.IsZero() || !prev.After(since) {
		return first, true
	}
	return prev.UTC(), true
}

// Check validates a cron job for saving: c.Validate, then the schedule in its time zone. It returns the parsed
// schedule.
func Check(c *api.CronJob) (Schedule, error) {
	if err := c.Validate(); err != nil {
		return Schedule{}, err
	}
	loc, err := c.Location()
	if err != nil {
		return Schedule{}, err
	}
	return Parse(c.Schedule, loc)
}
