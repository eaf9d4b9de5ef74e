package cli_test

import (
	"bufio"
	"io"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/cli"
)

func TestLogsAndCancel(t *testing.T) {
	h := newHarness(t, true)
	h.ok("", "apply", "-f", h.manifests())

	done := unmarshal[api.Job](t, h.ok("", "run", "hello", "-o", "json"))
	if got := h.ok("", "logs", done.ID); !strings.HasPrefix(got, "hello from hello\n") || !strings.Contains(got, `"greeting":"hello"`) {
		t.Errorf("logs %s = %q", done.ID, got)
	}
	if got := h.ok("", "logs", "-f", done.ID); !strings.HasPrefix(got, "hello from hello\n") {
		t.Errorf("logs -f of a finished job = %q", got)
	}

	// Follow a running job: its first line arrives while it runs; cancelling it ends the stream.
	id := strings.TrimSpace(h.ok("", "run", "slow"))
	pr, pw := io.Pipe()
	exit := make(chan int, 1)
	var stderr strings.Builder
	go func() {
		exit <- cli.Run(t.Context(), []string{"logs", "-f", id}, strings.NewReader(""), pw, &stderr)
		pw.Close()
	}()
	lines := bufio.NewReader(pr)
	if line, err := lines.ReadString('\n'); err != nil || line != "started\n" {
		t.Fatalf("logs -f %s: first line %q, %v", id, line, err)
	}
	if got, want := h.ok("", "cancel", id), "job/"+id+" cancelled\n"; got != want {
		t.Errorf("cancel printed %q, want %q", got, want)
	}
	rest, err := io.ReadAll(lines)
	if err != nil || strings.Contains(string(rest), "never") {
		t.Errorf("logs -f after cancel: rest %q, %v", rest, err)
	}
	if code := <-exit; code != 1 || !strings.Contains(stderr.String(), "cancelled") { // the job's outcome
		t.Errorf("logs -f of a job then cancelled: exit %d, stderr %q; want 1 and the job's status", code, stderr.String())
	}
	job := unmarshal[api.Job](t, h.ok("", "get", "job", id, "-o", "json"))
	if job.Status != api.JobCancelled {
		t.Errorf("job after cancel: status %s, want cancelled", job.Status)
	}

	for _, tt := range []struct {
		args []string
		code int
	}{{[]string{"logs", "slow-zzzzz"}, 4}, {[]string{"cancel", "slow-zzzzz"}, 1}} {
		if r := h.run("", tt.args...); r.code != tt.code || !strings.HasSuffix(r.stderr, "not found (404)\n") {
			t.Errorf("%v: exit %d, stderr %q; want %d and the server's 404", tt.args, r.code, r.stderr, tt.code)
		}
	}
}

func TestDelete(t *testing.T) {
	h := newHarness(t, true)
	h.ok("", "apply", "-f", h.manifests())
	tests := []struct {
		name       string
		args       []string
		wantOut    string
		wantErrEnd string
	}{
		{name: "runner in use", args: []string{"delete", "runner", "scripts"}, wantErrEnd: "(409)\n"},
		{name: "tasks", args: []string{"delete", "task", "hello", "greet"}, wantOut: "task/hello deleted\ntask/greet deleted\n"},
		{name: "missing task", args: []string{"delete", "task", "hello"}, wantErrEnd: "Error: task \"hello\" not found (404)\n"},
		{name: "plural", args: []string{"delete", "tasks", "slow", "fail"}, wantOut: "task/slow deleted\ntask/fail deleted\n"},
		{name: "runner", args: []string{"delete", "runner", "scripts"}, wantOut: "runner/scripts deleted\n"},
		{name: "missing runner", args: []string{"delete", "runner", "scripts"}, wantErrEnd: "Error: runner \"scripts\" not found (404)\n"},
		{name: "jobs cannot be deleted", args: []string{"delete", "job", "x"}, wantErrEnd: "Run 'runplane delete --help' for usage.\n"},
	}
	for _, tt := range tests {
		r := h.run("", tt.args...)
		if tt.wantOut != "" && (r.code != 0 || r.stdout != tt.wantOut) {
			t.Errorf("%s: %v: exit %d, stdout %q, stderr %q; want %q", tt.name, tt.args, r.code, r.stdout, r.stderr, tt.wantOut)
		}
		if tt.wantErrEnd != "" && (r.code != 1 || !strings.HasSuffix(r.stderr, tt.wantErrEnd)) {
			t.Errorf("%s: %v: exit %d, stderr %q; want it to end with %q", tt.name, tt.args, r.code, r.stderr, tt.wantErrEnd)
		}
	}
}
