package api

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode"
)

// ConcurrencyPolicy says what a cron job does when a scheduled time comes while its previous job (or run) is still
// live, as in a Kubernetes CronJob.
type ConcurrencyPolicy string

// The concurrency policies; empty reads as Allow.
const (
	ConcurrencyAllow   ConcurrencyPolicy = "Allow"   // start another one
	ConcurrencyForbid  ConcurrencyPolicy = "Forbid"  // skip this time
	ConcurrencyReplace ConcurrencyPolicy = "Replace" // cancel the live one, then start
)

// CronJob status values: what became of its last firing (CronJob.LastStatus).
const (
	CronFired   = "fired"   // a job or run was started (or found started by another server)
	CronSkipped = "skipped" // Forbid with the previous one live, or a missed time past starting_deadline
	CronRefused = "refused" // the owner is gone or may not start the target any more: nothing ran
	CronFailed  = "failed"  // the target is gone or its input no longer fits its schema: nothing ran
)

// MaxScheduleLength bounds a schedule's text.
const MaxScheduleLength = 256

// CronJob starts a job of Task (with ExtraVars as its input) or a run of Workflow (with ExtraVars as its
// parameters) at each time of Schedule, as Owner, with Owner's rights at that time (Kriten's cron job, plus a
// workflow target, a timezone and Kubernetes' concurrency policy and starting deadline).
//
// Schedule is cron syntax: 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first, or one
// of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly. Validate checks the fields that need no
// parser; the server parses the schedule too (a schedule that does not parse is a 400 naming it).
type CronJob struct {
	Name     string `json:"name"`
	Owner    string `json:"owner,omitempty"`
	Task     string `json:"task,omitempty"`
	Workflow string `json:"workflow,omitempty"`
	Schedule string `json:"schedule"`
	// Timezone is the IANA zone Schedule is read in; empty means UTC.
	Timezone string `json:"timezone,omitempty"`
	// Disable stops the firings (Kriten's spelling; "disabled" is read too).
	Disable   bool            `json:"disable"`
	ExtraVars json.RawMessage `json:"extra_vars,omitempty"`
	// ConcurrencyPolicy: Allow (the default), Forbid or Replace.
	ConcurrencyPolicy ConcurrencyPolicy `json:"concurrency_policy,omitempty"`
	// StartingDeadline: a time missed (no server was running) fires, once, only if a server gets to it within
	// this long. Zero: no deadline, the latest missed time fires once.
	StartingDeadline Duration `json:"starting_deadline,omitempty"`

	// Read-only: set by the server, ignored on input.
	NextRun *time.Time `json:"next_run,omitempty"`
	LastRun *time.Time `json:"last_run,omitempty"`
	// LastJob is the job (or, for a workflow, the run) the last firing started.
	LastJob string `json:"last_job,omitempty"`
	// LastStatus is what became of the last firing (CronFired, ...), LastMessage why, when it was not fired.
	LastStatus  string `json:"last_status,omitempty"`
	LastMessage string `json:"last_message,omitempty"`
}

// UnmarshalJSON reads a cron job, taking "disabled" as "disable" (Kriten's documentation spells it so).
func (c *CronJob) UnmarshalJSON(b []byte) error {
	type plain CronJob
	x := struct {
		*plain
		Disabled *bool `json:"disabled"`
	}{plain: (*plain)(c)}
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	if x.Disabled == nil {
		return nil
	}
	var both struct {
		Disable *bool `json:"disable"`
	}
	_ = json.Unmarshal(b, &both)
	if both.Disable != nil && *both.Disable != *x.Disabled {
		return Invalidf("disable and disabled disagree: send one of them")
	}
	c.Disable = *x.Disabled
	return nil
}

// ClearStatus zeroes the read-only fields, which a client may send back but never sets.
func (c *CronJob) ClearStatus() {
	c.NextRun, c.LastRun, c.LastJob, c.LastStatus, c.LastMessage = nil, nil, "", "", ""
}

// Location is the cron job's time zone (UTC when Timezone is empty); an unknown zone is an *InvalidError naming
// the field.
func (c CronJob) Location() (*time.Location, error) {
	if c.Timezone == "" {
		return time.UTC, nil
	}
	// "Local" would read the server's zone, which differs from server to server.
	if c.Timezone == "Local" || len(c.Timezone) > 64 || strings.ContainsAny(c.Timezone, "\x00\\") ||
		strings.HasPrefix(c.Timezone, "/") || strings.Contains(c.Timezone, "..") {
		return nil, Invalidf("timezone: %q is not an IANA time zone name (such as Europe/Paris or UTC)", c.Timezone)
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return nil, Invalidf("timezone: %q is not an IANA time zone name (such as Europe/Paris or UTC)", c.Timezone)
	}
	return loc, nil
}

// Validate checks what can be checked without a store or the schedule parser: the name, one target, the
// schedule's text, the timezone, the policy, the deadline and that extra_vars is JSON.
func (c *CronJob) Validate() error {
	if err := ValidateName(c.Name); err != nil {
		return err
	}
	switch {
	case c.Task == "" && c.Workflow == "":
		return Invalidf("task or workflow is required")
	case c.Task != "" && c.Workflow != "":
		return Invalidf("task and workflow: name one of them")
	}
	for field, v := range map[string]string{"task": c.Task, "workflow": c.Workflow} {
		if v != "" {
			if err := ValidateName(v); err != nil {
				return Invalidf("%s: %v", field, err)
			}
		}
	}
	if err := checkScheduleText(c.Schedule); err != nil {
		return err
	}
	if _, err := c.Location(); err != nil {
		return err
	}
	switch c.ConcurrencyPolicy {
	case "", ConcurrencyAllow, ConcurrencyForbid, ConcurrencyReplace:
	default:
		return Invalidf("concurrency_policy: %q is not one of Allow, Forbid, Replace", c.ConcurrencyPolicy)
	}
	if c.StartingDeadline < 0 {
		return Invalidf("starting_deadline: must not be negative")
	}
	raw := bytes.TrimSpace(c.ExtraVars)
	if string(raw) == "null" || len(raw) == 0 {
		c.ExtraVars = nil
	} else if !json.Valid(raw) {
		return Invalidf("extra_vars: not valid JSON")
	}
	return nil
}

// checkScheduleText refuses a schedule the parser need not see: empty, too long, or with a time zone prefix (the
// timezone field says it).
func checkScheduleText(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return Invalidf("schedule is required (cron syntax, such as \"*/5 * * * *\" or \"@hourly\")")
	case len(s) > MaxScheduleLength:
		return Invalidf("schedule: longer than %d characters", MaxScheduleLength)
	case strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ="):
		return Invalidf("schedule: %q: give the time zone in the timezone field, not in the schedule", s)
	}
	for _, r := range s {
		if r != ' ' && r != '\t' && (unicode.IsControl(r) || r > unicode.MaxASCII) {
			return Invalidf("schedule: %q: only printable ASCII is allowed", s)
		}
	}
	return nil
}
