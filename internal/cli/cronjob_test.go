package cli_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

// TestCronJobCLI: a kind: CronJob document applies (created, then unchanged, then configured), get lists and
// shows it, and cronjob trigger fires it now, printing the job it started.
func TestCronJobCLI(t *testing.T) {
	h := newHarness(t, true)
	dir := h.manifests()
	write(t, dir, "d-cron.yaml", `kind: CronJob
name: nightly
task: hello
schedule: "0 3 * * *"
timezone: Europe/Paris
disabled: true
concurrency_policy: Forbid
extra_vars:
  name: cron
`)
	steps := []struct {
		name string
		edit func()
		want string
	}{
		{"created after its task", nil, "cronjob/nightly created\n"},
		{"unchanged", nil, "cronjob/nightly unchanged\n"},
		{"configured", func() {
			write(t, dir, "d-cron.yaml", "kind: CronJob\nname: nightly\ntask: hello\nschedule: \"@hourly\"\ndisable: true\nextra_vars: {name: cron}\n")
		}, "cronjob/nightly configured\n"},
	}
	for _, s := range steps {
		if s.edit != nil {
			s.edit()
		}
		got := h.ok("", "apply", "-f", dir)
		if !strings.HasSuffix(got, s.want) {
			t.Errorf("%s: apply printed\n%s\nwant it to end with %q", s.name, got, s.want)
		}
	}
	cj := unmarshal[api.CronJob](t, h.ok("", "get", "cronjob", "nightly", "-o", "json"))
	var vars bytes.Buffer
	_ = json.Compact(&vars, cj.ExtraVars)
	if cj.Schedule != "@hourly" || !cj.Disable || cj.Owner != "root" || vars.String() != `{"name":"cron"}` {
		t.Errorf("get cronjob nightly = %+v", cj)
	}
	if out := h.ok("", "get", "cronjobs"); !strings.Contains(out, "nightly") || !strings.Contains(out, "task/hello") {
		t.Errorf("get cronjobs printed %q, want nightly and its task", out)
	}
	// get -o yaml prints a document apply takes back unchanged.
	doc := h.ok("", "get", "cronjob", "nightly", "-o", "yaml")
	if !strings.HasPrefix(doc, "kind: CronJob\n") || strings.Contains(doc, "next_run") {
		t.Errorf("get cronjob -o yaml printed\n%s\nwant a CronJob document without read-only fields", doc)
	}
	if got := h.ok(doc, "apply", "-f", "-"); got != "cronjob/nightly unchanged\n" {
		t.Errorf("apply of get's document printed %q, want unchanged", got)
	}
	if out := h.ok("", "export"); !strings.Contains(out, "kind: CronJob\n") {
		t.Errorf("export printed no CronJob document:\n%s", out)
	}
	id := strings.TrimSpace(h.ok("", "cronjob", "trigger", "nightly"))
	job := unmarshal[api.Job](t, h.ok("", "get", "job", id, "-o", "json"))
	if job.Task != "hello" || job.Trigger == nil || job.Trigger.Kind != api.TriggerCron || job.Trigger.Name != "nightly" {
		t.Errorf("triggered job %s = task %q trigger %+v, want hello started by cron job nightly", id, job.Task, job.Trigger)
	}
	if out := h.fail("", "cronjob", "trigger", "nope"); !strings.Contains(out, "not found") {
		t.Errorf("trigger of a missing cron job printed %q, want not found", out)
	}
	if got := h.ok("", "delete", "cronjob", "nightly"); got != "cronjob/nightly deleted\n" {
		t.Errorf("delete cronjob printed %q", got)
	}
	bad := "kind: CronJob\nname: bad\ntask: hello\nschedule: \"61 * * * *\"\n"
	if out := h.fail(bad, "apply", "-f", "-"); !strings.Contains(out, "schedule:") {
		t.Errorf("apply of a bad schedule printed %q, want it to name the schedule", out)
	}
	unknown := "kind: CronJob\nname: bad\ntask: hello\nschedule: \"@daily\"\nsuspend: true\n"
	if out := h.fail(unknown, "apply", "-f", "-"); !strings.Contains(out, `unknown field "suspend"`) {
		t.Errorf("apply of an unknown field printed %q, want it named", out)
	}
}
