package cli_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

// jsonEqual compares JSON texts by value.
func jsonEqual(t *testing.T, what string, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %q is not JSON: %v", what, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

var jobID = regexp.MustCompile(`^([a-z0-9._-]+)-[a-z0-9]{5}\n$`)

func TestRun(t *testing.T) {
	h := newHarness(t, true)
	h.ok("", "apply", "-f", h.manifests())
	input := write(t, t.TempDir(), "input.json", `{"name": "from-file"}`)

	finished := []struct {
		name     string
		args     []string
		stdin    string
		wantData string
	}{
		{"synchronous task", []string{"run", "hello", "--input", `{"name":"x"}`}, "", `{"greeting":"hello","input":{"name":"x"}}`},
		{"input from a file", []string{"run", "greet", "--input", "@" + input}, "", `{"greeting":"hello","input":{"name":"from-file"}}`},
		{"input from stdin", []string{"run", "greet", "-i", "@-"}, `{"name":"stdin"}`, `{"greeting":"hello","input":{"name":"stdin"}}`},
		{"no input", []string{"run", "hello", "--wait"}, "", `{"greeting":"hello","input":null}`},
		{"async task waited for", []string{"run", "hello", "--wait=30s"}, "", `{"greeting":"hello","input":null}`},
	}
	for _, tt := range finished {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			r := h.run(tt.stdin, tt.args...)
			if r.code != 0 {
				t.Fatalf("%v: exit %d, stderr %s", tt.args, r.code, r.stderr)
			}
			jsonEqual(t, "stdout", json.RawMessage(r.stdout), tt.wantData)
			if !regexp.MustCompile(`^job [a-z]+-[a-z0-9]{5} succeeded \(exit code 0\)\n$`).MatchString(r.stderr) {
				t.Errorf("%v: stderr %q, want the job's status", tt.args, r.stderr)
			}
		})
	}

	t.Run("async", func(t *testing.T) {
		h := h.with(t)
		for _, args := range [][]string{{"run", "slow"}, {"run", "hello", "--wait=0s"}} {
			r := h.run("", args...)
			if r.code != 0 || !jobID.MatchString(r.stdout) || !strings.Contains(r.stderr, "runplane logs -f") {
				t.Fatalf("%v: exit %d, stdout %q, stderr %q; want the job id", args, r.code, r.stdout, r.stderr)
			}
			if args[1] == "slow" {
				h.ok("", "cancel", strings.TrimSpace(r.stdout))
			}
		}
		created := unmarshal[api.JobCreated](t, h.ok("", "run", "hello", "--wait=0", "-o", "json"))
		if created.Msg != api.JobCreatedMsg || !strings.HasPrefix(created.ID, "hello-") {
			t.Errorf("run -o json (async) = %+v", created)
		}
	})

	t.Run("failed job", func(t *testing.T) {
		h := h.with(t)
		r := h.run("", "run", "fail")
		if r.code != 1 || r.stdout != "" || !regexp.MustCompile(`^job fail-[a-z0-9]{5} failed \(exit code 3\)`).MatchString(r.stderr) {
			t.Errorf("run fail: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		r = h.run("", "run", "fail", "-o", "json")
		job := unmarshal[api.Job](t, r.stdout)
		if r.code != 1 || job.Status != api.JobFailed || job.ExitCode == nil || *job.ExitCode != 3 {
			t.Errorf("run fail -o json: exit %d, job %+v", r.code, job)
		}
	})

	t.Run("idempotency key", func(t *testing.T) {
		h := h.with(t)
		first := h.ok("", "run", "hello", "--wait=0s", "--idempotency-key", "abc")
		again := h.ok("", "run", "hello", "--wait=0s", "--idempotency-key", "abc")
		if first != again {
			t.Errorf("same idempotency key gave jobs %q and %q", first, again)
		}
	})

	errs := []struct {
		name  string
		args  []string
		wants []string // in order, each on its own line of stderr
	}{
		{"schema violation", []string{"run", "greet", "--input", `{"count": "two"}`},
			[]string{"Error: ", "/count", "(400)\n"}},
		{"missing required field", []string{"run", "greet", "--input", `{}`}, []string{"Error: ", "name", "(400)\n"}},
		{"invalid JSON input", []string{"run", "hello", "--input", `{bad`}, []string{"Error: --input is not valid JSON\n"}},
		{"missing input file", []string{"run", "hello", "--input", "@/nonexistent/in.json"}, []string{"Error: --input: open /nonexistent/in.json"}},
		{"bad wait", []string{"run", "hello", "--wait=forever"}, []string{"Error: invalid argument \"forever\" for \"--wait\""}},
		{"no task", []string{"run"}, []string{"Error: accepts 1 arg(s), received 0"}},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			got := h.fail("", tt.args...)
			rest := got
			for _, w := range tt.wants {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("%v: stderr\n%s\nwant, in order, %q", tt.args, got, tt.wants)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}
