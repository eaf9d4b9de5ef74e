package api

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCronJobValidate(t *testing.T) {
	ok := func() CronJob { return CronJob{Name: "nightly", Task: "backup", Schedule: "0 3 * * *"} }
	tests := []struct {
		name   string
		edit   func(c *CronJob)
		errHas string // "" = valid
	}{
		{"minimal", func(c *CronJob) {}, ""},
		{"workflow target", func(c *CronJob) { c.Task, c.Workflow = "", "deploy" }, ""},
		{"every field", func(c *CronJob) {
			c.Timezone, c.ConcurrencyPolicy, c.StartingDeadline = "Europe/Paris", ConcurrencyForbid, Duration(time.Minute)
			c.ExtraVars = json.RawMessage(`{"n":1}`)
		}, ""},
		{"no name", func(c *CronJob) { c.Name = "" }, "name is required"},
		{"bad name", func(c *CronJob) { c.Name = "Nightly Job" }, "lowercase"},
		{"no target", func(c *CronJob) { c.Task = "" }, "task or workflow is required"},
		{"two targets", func(c *CronJob) { c.Workflow = "deploy" }, "name one of them"},
		{"bad task name", func(c *CronJob) { c.Task = "../x" }, "task:"},
		{"no schedule", func(c *CronJob) { c.Schedule = "  " }, "schedule is required"},
		{"long schedule", func(c *CronJob) { c.Schedule = strings.Repeat("1", 300) }, "schedule: longer"},
		{"tz prefix", func(c *CronJob) { c.Schedule = "TZ=UTC 0 3 * * *" }, "timezone field"},
		{"control char", func(c *CronJob) { c.Schedule = "0 3 * * *\n" }, "printable ASCII"},
		{"unknown zone", func(c *CronJob) { c.Timezone = "Mars/Olympus" }, "timezone:"},
		{"local zone", func(c *CronJob) { c.Timezone = "Local" }, "timezone:"},
		{"path zone", func(c *CronJob) { c.Timezone = "../../etc/passwd" }, "timezone:"},
		{"bad policy", func(c *CronJob) { c.ConcurrencyPolicy = "forbid" }, "concurrency_policy"},
		{"negative deadline", func(c *CronJob) { c.StartingDeadline = -1 }, "starting_deadline"},
		{"bad extra_vars", func(c *CronJob) { c.ExtraVars = json.RawMessage(`{`) }, "extra_vars"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok()
			tt.edit(&c)
			err := c.Validate()
			if tt.errHas == "" {
				if err != nil {
					t.Fatalf("Validate(%+v) = %v, want nil", c, err)
				}
				return
			}
			var inv *InvalidError
			if !errors.As(err, &inv) || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("Validate(%+v) = %v, want an *InvalidError containing %q", c, err, tt.errHas)
			}
		})
	}
}

func TestCronJobDisabled(t *testing.T) {
	tests := []struct {
		name, body string
		want       bool
		wantErr    bool
	}{
		{"disable", `{"disable":true}`, true, false},
		{"disabled", `{"disabled":true}`, true, false},
		{"both agree", `{"disable":true,"disabled":true}`, true, false},
		{"both disagree", `{"disable":false,"disabled":true}`, false, true},
		{"neither", `{}`, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c CronJob
			err := json.Unmarshal([]byte(tt.body), &c)
			if (err != nil) != tt.wantErr || c.Disable != tt.want {
				t.Fatalf("Unmarshal(%s) = %v, disable %v; want error %v, disable %v", tt.body, err, c.Disable, tt.wantErr, tt.want)
			}
		})
	}
	// A patch keeps what the body does not name.
	c := CronJob{Name: "x", Disable: true, Schedule: "@daily"}
	if err := json.Unmarshal([]byte(`{"schedule":"@hourly"}`), &c); err != nil || !c.Disable || c.Name != "x" {
		t.Fatalf("patch = %+v, %v; want disable and name kept", c, err)
	}
}
