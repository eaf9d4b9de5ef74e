package executortest

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Tests of the job contract: what a script sees.

func testExitCodes(t *testing.T, s *suite) {
	tests := []struct {
		command string
		want    int
	}{
		{"true", 0},
		{"false", 1},
		{"exit 3", 3},
		{"echo before; exit 255", 255},
	}
	for _, tc := range tests {
		spec, out := s.spec(t, tc.command)
		r, _ := s.run(t, spec, out)
		if r.ExitCode != tc.want || r.Reason != "" {
			t.Errorf("job %q: ExitCode %d, Reason %q; want %d, no reason", tc.command, r.ExitCode, r.Reason, tc.want)
		}
	}
}

func testExtraVarsVerbatim(t *testing.T, s *suite) {
	tests := []struct {
		name  string
		input []byte
		want  string
	}{
		{"json", []byte(`{"msg": "it's \"quoted\" $(not run) \\n \u00e9", "n": [1, 2]}`), `set:{"msg": "it's \"quoted\" $(not run) \\n \u00e9", "n": [1, 2]}`},
		{"multi-line", []byte("{\n  \"a\": 1\n}\n"), "set:{\n  \"a\": 1\n}\n"},
		{"empty but set", []byte{}, "set:"},
	}
	for _, tc := range tests {
		spec, out := s.spec(t, `if [ "${EXTRA_VARS+x}" = x ]; then printf 'set:%s' "$EXTRA_VARS"; else printf unset; fi`)
		spec.ExtraVars = tc.input
		if _, got := s.run(t, spec, out); got != tc.want {
			t.Errorf("%s: job saw EXTRA_VARS %q, want %q", tc.name, got, tc.want)
		}
	}
}

func testExtraVarsUnset(t *testing.T, s *suite) {
	spec, out := s.spec(t, `if [ "${EXTRA_VARS+x}" = x ]; then printf 'set:%s' "$EXTRA_VARS"; else printf unset; fi`)
	if _, got := s.run(t, spec, out); got != "unset" {
		t.Errorf("job with nil ExtraVars saw %q, want %q", got, "unset")
	}
}

const secretScript = `d=${RUNPLANE_SECRET_DIR:-/etc/secret}
printf 'env:%s|%s\n' "$API_KEY" "$DB_PASSWORD"
printf 'file:%s|%s\n' "$(cat "$d/API_KEY")" "$(cat "$d/DB_PASSWORD")"
stat -c 'mode:%a' "$d/API_KEY"
if ( : > "$d/new" ) 2>/dev/null; then echo dir:writable; else echo dir:readonly; fi
if ( echo x >> "$d/API_KEY" ) 2>/dev/null; then echo file:writable; else echo file:readonly; fi
echo "secretdir:${RUNPLANE_SECRET_DIR:+set}"
`

func testSecrets(t *testing.T, s *suite) {
	spec, out := s.spec(t, secretScript)
	spec.Secrets = map[string]string{"API_KEY": "s3cr3t value & $dollar", "DB_PASSWORD": "p@ss'w\"rd"}
	r, got := s.run(t, spec, out)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	want := []string{
		`env:s3cr3t value & $dollar|p@ss'w"rd`,
		`file:s3cr3t value & $dollar|p@ss'w"rd`,
		"mode:400",
		"dir:readonly",
		"file:readonly",
		"secretdir:",
	}
	if secretDirWarned(r) {
		// Without a private mount the files sit in a private directory; root can still write there.
		want = want[:3]
		lines = slices.DeleteFunc(lines, func(l string) bool { return strings.HasSuffix(l, "writable") || strings.HasSuffix(l, "readonly") })
		want = append(want, "secretdir:set")
	} else if len(r.Warnings) > 0 {
		t.Errorf("Warnings = %q, want none (or the RUNPLANE_SECRET_DIR one)", r.Warnings)
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("job's view of its secrets (-want +got):\n%s", diff)
	}
}

// testNoSecrets: a job without secrets finds no secret files (and no secrets of other jobs).
func testNoSecrets(t *testing.T, s *suite) {
	spec, out := s.spec(t, `ls -A "${RUNPLANE_SECRET_DIR:-/etc/secret}" 2>/dev/null; echo end`)
	if r, got := s.run(t, spec, out); r.ExitCode != 0 || got != "end\n" {
		t.Errorf("job without secrets: exit %d, listed its secret directory as %q; want 0, nothing", r.ExitCode, strings.TrimSuffix(got, "end\n"))
	}
}

// testNoServerEnv: the job's environment is exactly the contract's (plus what the platform and sh add).
func testNoServerEnv(t *testing.T, s *suite) {
	spec, out := s.spec(t, "env")
	spec.ExtraVars = []byte(`{}`)
	spec.Secrets = map[string]string{"ONLY_SECRET": "x"}
	r, got := s.run(t, spec, out)
	allowed := map[string]bool{
		"PATH": true, "HOME": true, "EXTRA_VARS": true, "ONLY_SECRET": true,
		"RUNPLANE_JOB_ID": true, "RUNPLANE_TASK": true, "RUNPLANE_RUNNER": true, "RUNPLANE_OWNER": true,
		"PWD": true, "OLDPWD": true, "SHLVL": true, "_": true,
	}
	if secretDirWarned(r) {
		allowed["RUNPLANE_SECRET_DIR"] = true
	}
	for _, name := range s.cfg.AllowEnv {
		allowed[name] = true
	}
	var extra []string
	for _, line := range strings.Split(got, "\n") {
		name, _, ok := strings.Cut(line, "=")
		if ok && !allowed[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("job environment has variables outside the contract: %q\nfull environment:\n%s", extra, got)
	}
	if strings.Contains(got, sentinelValue) {
		t.Errorf("the test process's environment leaked into the job")
	}
	if !strings.Contains(got, "PATH=") || !strings.Contains(got, "HOME=/") {
		t.Errorf("job environment lacks PATH or an absolute HOME:\n%s", got)
	}
}

func testIdentityEnv(t *testing.T, s *suite) {
	spec, out := s.spec(t, `printf '%s\n' "$RUNPLANE_JOB_ID" "$RUNPLANE_TASK" "$RUNPLANE_RUNNER" "$RUNPLANE_OWNER"`)
	spec.JobID, spec.Task, spec.Runner, spec.Owner = "identity-x1y2z", "identity", "runner-a", "alice"
	_, got := s.run(t, spec, out)
	if want := "identity-x1y2z\nidentity\nrunner-a\nalice\n"; got != want {
		t.Errorf("identity env = %q, want %q", got, want)
	}
}

func testWorkdirIsCheckout(t *testing.T, s *suite) {
	spec, out := s.spec(t, "cat hello.txt && ./bin/show.sh arg")
	if r, got := s.run(t, spec, out); r.ExitCode != 0 || got != "hello from main\nshow arg\n" {
		t.Errorf("job in checkout: exit %d, output %q; want 0, %q", r.ExitCode, got, "hello from main\nshow arg\n")
	}
}

func testBranch(t *testing.T, s *suite) {
	spec, out := s.spec(t, "cat hello.txt")
	spec.Repo.Branch = "feature/x"
	if _, got := s.run(t, spec, out); got != "hello from feature/x\n" {
		t.Errorf("job on branch feature/x read %q, want %q", got, "hello from feature/x\n")
	}
}

func testFreshCheckout(t *testing.T, s *suite) {
	spec, out := s.spec(t, "echo changed > hello.txt && touch leftover")
	if r, _ := s.run(t, spec, out); r.ExitCode != 0 {
		t.Fatalf("first job exit %d, want 0", r.ExitCode)
	}
	spec, out = s.spec(t, "cat hello.txt; [ -e leftover ] && echo leftover || echo clean")
	if _, got := s.run(t, spec, out); got != "hello from main\nclean\n" {
		t.Errorf("second job saw %q, want a fresh checkout %q", got, "hello from main\nclean\n")
	}
}

func testOutputInOrder(t *testing.T, s *suite) {
	spec, out := s.spec(t, `for i in 1 2 3; do echo out$i; echo err$i >&2; done`)
	if _, got := s.run(t, spec, out); got != "out1\nerr1\nout2\nerr2\nout3\nerr3\n" {
		t.Errorf("output = %q, want stdout and stderr interleaved in order", got)
	}
}

// testOutputToWriter: an Output that is not a file gets everything before Wait returns.
func testOutputToWriter(t *testing.T, s *suite) {
	spec, _ := s.spec(t, `echo first; echo second >&2; i=0; while [ $i -lt 20000 ]; do echo "line $i"; i=$((i+1)); done; echo last`)
	var buf LockedBuffer
	spec.Output = &buf
	r := s.wait(t, s.start(t, spec))
	got := buf.String()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if r.ExitCode != 0 || len(lines) != 20003 || lines[0] != "first" || lines[1] != "second" || lines[len(lines)-1] != "last" {
		t.Errorf("exit %d, %d lines (first %q, last %q); want 0, 20003 lines from first to last", r.ExitCode, len(lines), lines[0], lines[len(lines)-1])
	}
}

func testBadCheckout(t *testing.T, s *suite) {
	const token = "tok-executortest-do-not-leak"
	spec, _ := s.spec(t, "true")
	spec.Repo.Branch = "no-such-branch"
	spec.Repo.Token = token
	h, err := s.ex.Start(t.Context(), spec)
	if err == nil {
		t.Fatalf("Start on a missing branch = %s, nil; want an error", h)
	}
	if !strings.Contains(err.Error(), "no-such-branch") || strings.Contains(err.Error(), token) {
		t.Errorf("Start error = %q; want one naming the branch and not containing the token", err)
	}
}
