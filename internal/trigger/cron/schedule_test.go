package cron

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

func TestParse(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 12, 7, 10, 30, 0, 0, time.UTC)
	tests := []struct {
		spec   string
		loc    *time.Location
		next   time.Time // after from
		errHas string
	}{
		{"*/5 * * * *", nil, time.Date(2026, 12, 7, 10, 35, 0, 0, time.UTC), ""},
		{"0 3 * * *", nil, time.Date(2026, 12, 8, 3, 0, 0, 0, time.UTC), ""},
		{"0 3 * * *", paris, time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC), ""},
		{"@hourly", nil, time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC), ""},
		{"@daily", nil, time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC), ""},
		{"* * * * * *", nil, from.Add(time.Second), ""},
		{"30 * * * * *", nil, time.Date(2026, 12, 7, 10, 30, 30, 0, time.UTC), ""},
		{"0 9 * * MON-FRI", nil, time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC), ""},
		{"", nil, time.Time{}, "schedule is required"},
		{"* * *", nil, time.Time{}, "schedule:"},
		{"61 * * * *", nil, time.Time{}, "schedule:"},
		{"* * * * * * * *", nil, time.Time{}, "schedule:"},
		{"@every 5m", nil, time.Time{}, "only cron fields"},
		{"@reboot", nil, time.Time{}, "only cron fields"},
		{"@sometimes", nil, time.Time{}, "schedule:"},
		{"H * * * *", nil, time.Time{}, "schedule:"},
		{"0 0 30 2 *", nil, time.Time{}, "never fires"},
		{"TZ=UTC * * * * *", nil, time.Time{}, "timezone field"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			s, err := Parse(tt.spec, tt.loc)
			if tt.errHas != "" {
				var inv *api.InvalidError
				if !errors.As(err, &inv) || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("Parse(%q) = %v, want an *api.InvalidError containing %q", tt.spec, err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tt.spec, err)
			}
			if got := s.Next(from); !got.Equal(tt.next) {
				t.Errorf("Parse(%q).Next(%v) = %v, want %v", tt.spec, from, got, tt.next)
			}
		})
	}
}

func TestLatest(t *testing.T) {
	s, err := Parse("*/10 * * * *", nil)
	if err != nil {
		t.Fatal(err)
	}
	at := func(h, m int) time.Time { return time.Date(2026, 12, 7, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name      string
		since, to time.Time
		want      time.Time
		ok        bool
	}{
		{"none due", at(10, 0), at(10, 9), time.Time{}, false},
		{"one due", at(10, 0), at(10, 10), at(10, 10), true},
		{"many missed: the latest", at(10, 0), at(13, 25), at(13, 20), true},
		{"since is a time: not again", at(10, 10), at(10, 10), time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := s.Latest(tt.since, tt.to)
			if ok != tt.ok || !got.Equal(tt.want) {
				t.Errorf("Latest(%v, %v) = %v, %v; want %v, %v", tt.since, tt.to, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestCheckNamesTheField(t *testing.T) {
	c := api.CronJob{Name: "n", Task: "t", Schedule: "0 3 * * *", Timezone: "Nowhere/City"}
	if _, err := Check(&c); err == nil || !strings.HasPrefix(err.Error(), "timezone:") {
		t.Fatalf("Check(bad timezone) = %v, want an error starting with timezone:", err)
	}
	c.Timezone, c.Schedule = "", "0 25 * * *"
	if _, err := Check(&c); err == nil || !strings.HasPrefix(err.Error(), "schedule:") {
		t.Fatalf("Check(bad schedule) = %v, want an error starting with schedule:", err)
	}
}

// FuzzParse: no schedule text makes Parse panic, and a schedule it accepts always has a next time after the
// one before.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"*/5 * * * *", "@hourly", "0 3 * * MON-FRI", "* * * * * *", "1-5/2 0 1,15 JAN *", "@every 1s", "L W # ?"} {
		f.Add(s)
	}
	from := time.Date(2026, 12, 7, 10, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := Parse(spec, time.UTC)
		if err != nil {
			var inv *api.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("Parse(%q) = %v, want an *api.InvalidError", spec, err)
			}
			return
		}
		if n := s.Next(from); !n.IsZero() && !n.After(from) {
			t.Fatalf("Parse(%q).Next(%v) = %v, not after", spec, from, n)
		}
	})
}

// FuzzCronJob: any body decodes and checks without panicking, and a cron job that passes Check has a valid
// policy and a parsed schedule.
func FuzzCronJob(f *testing.F) {
	f.Add(`{"name":"a","task":"t","schedule":"*/5 * * * *","disable":false,"extra_vars":{}}`)
	f.Add(`{"name":"a","workflow":"w","schedule":"@daily","timezone":"Europe/Paris","concurrency_policy":"Forbid","starting_deadline":"5m","disabled":true}`)
	f.Fuzz(func(t *testing.T, body string) {
		var c api.CronJob
		if json.Unmarshal([]byte(body), &c) != nil {
			return
		}
		if _, err := Check(&c); err != nil {
			return
		}
		switch c.ConcurrencyPolicy {
		case "", api.ConcurrencyAllow, api.ConcurrencyForbid, api.ConcurrencyReplace:
		default:
			t.Fatalf("Check accepted policy %q", c.ConcurrencyPolicy)
		}
	})
}
