package cli_test

import (
	"strings"
	"testing"
)

// TestWorkflowTriggersApply: apply takes a Relay file with triggers unchanged, prints the webhook's secret once,
// and finds the file unchanged the second time; the schedule's cron job is listed, and export leaves it to its
// workflow.
func TestWorkflowTriggersApply(t *testing.T) {
	h := newHarness(t, true)
	file := write(t, t.TempDir(), "incident.yaml", `version: v1
parameters:
  title: {default: none}
triggers:
- name: nightly
  source:
    type: schedule
    schedule: '0 3 * * *'
- name: pagerduty
  source:
    type: webhook
    image: relaysh/pagerduty-trigger-incident-triggered
  binding:
    parameters:
      title: !Data title
steps:
- name: page
  image: relaysh/core
  input:
  - echo paging
`)
	if out := h.ok("", "apply", "--dry-run", "-f", file); out != "workflow/incident created (dry run)\n" {
		t.Errorf("apply --dry-run printed %q", out)
	}
	if out := h.ok("", "get", "cronjobs"); strings.Contains(out, "incident.nightly") {
		t.Errorf("after a dry run, get cronjobs printed %q", out)
	}
	out := h.ok("", "apply", "-f", file)
	if !strings.HasPrefix(out, "workflow/incident created\n  trigger pagerduty: webhook ") ||
		!strings.Contains(out, "POST /api/v1/webhooks/run/") || !strings.Contains(out, "secret whsec_") {
		t.Errorf("apply printed %q, want the workflow created and its webhook's secret", out)
	}
	if out := h.ok("", "apply", "-f", file); out != "workflow/incident unchanged\n" {
		t.Errorf("second apply printed %q, want unchanged and no secret", out)
	}
	if out := h.ok("", "get", "cronjobs"); !strings.Contains(out, "incident.nightly") {
		t.Errorf("get cronjobs printed %q, want incident.nightly", out)
	}
	exp := h.ok("", "export")
	if strings.Contains(exp, "kind: CronJob") || !strings.Contains(exp, "name: nightly") || strings.Contains(exp, "object:") {
		t.Errorf("export = %s\nwant the workflow with its triggers, without their objects or the cron job", exp)
	}
}
