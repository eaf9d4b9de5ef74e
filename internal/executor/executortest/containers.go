package executortest

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
)

// Tests of multi-container jobs (Spec.Containers): the containers run in order in one workspace and share the
// input, output and metadata directories; the first that fails ends the job.

// containersSpec returns a Spec running cs (each in the suite's image) instead of a command.
func (s *suite) containersSpec(t *testing.T, cs ...api.Container) (executor.Spec, *os.File) {
	t.Helper()
	spec, out := s.spec(t, "")
	for i := range cs {
		cs[i].Image = s.cfg.Image
	}
	spec.Containers = cs
	return spec, out
}

func header(c api.Container) string { return executor.ContainerHeader(c) }

func testContainersShareDirs(t *testing.T, s *suite) {
	spec, out := s.containersSpec(t,
		api.Container{Name: "write", Command: []string{"sh", "-c",
			`echo one; cat hello.txt; cat "$RUNPLANE_INPUT_DIR/object.yaml" "$RUNPLANE_INPUT_DIR/locust/basic.py"; echo "$MINE|$RUNPLANE_JOB_ID"
echo from-first > "$RUNPLANE_OUTPUT_DIR/first.txt"; mkdir "$RUNPLANE_OUTPUT_DIR/sub"; echo deep > "$RUNPLANE_OUTPUT_DIR/sub/f"`},
			Env: api.EnvVars{{Name: "MINE", Value: "mine"}}},
		api.Container{Name: "read", Command: []string{"sh", "-c"}, Args: []string{
			`echo two; cat "$RUNPLANE_OUTPUT_DIR/first.txt"; echo "message: done" > "$RUNPLANE_METADATA_DIR/status.yaml"; echo "$1"`, "sh", "an arg"}},
		api.Container{Name: "last", Command: []string{"echo", "three", "$NOT_EXPANDED"}},
	)
	// Input files may be paths (Keptn's files): their directories are made.
	spec.InputFiles = map[string][]byte{"object.yaml": []byte("kind: Thing\n"), "locust/basic.py": []byte("print(1)\n")}
	spec.Keep = filepath.Join(t.TempDir(), "keep")
	began := time.Now()
	r, got := s.run(t, spec, out)
	want := header(spec.Containers[0]) + "one\nhello from main\nkind: Thing\nprint(1)\nmine|" + spec.JobID + "\n" +
		header(spec.Containers[1]) + "two\nfrom-first\nan arg\n" +
		header(spec.Containers[2]) + "three $NOT_EXPANDED\n"
	if r.ExitCode != 0 || r.Reason != "" || got != want {
		t.Errorf("3 containers: exit %d, reason %q, output\n%s\nwant 0, no reason, output\n%s", r.ExitCode, r.Reason, got, want)
	}
	checkStatuses(t, r, began, []string{"write", "read", "last"}, []*int{ptr(0), ptr(0), ptr(0)})
	for p, want := range map[string]string{"output/first.txt": "from-first\n", "output/sub/f": "deep\n", "metadata/status.yaml": "message: done\n"} {
		if b, err := os.ReadFile(filepath.Join(spec.Keep, p)); err != nil || string(b) != want {
			t.Errorf("kept %s = %q, %v; want %q", p, b, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(spec.Keep, "input")); err == nil {
		t.Errorf("the input directory was kept; want output and metadata only")
	}
}

func testContainersFailureStops(t *testing.T, s *suite) {
	spec, out := s.containersSpec(t,
		api.Container{Name: "a", Command: []string{"sh", "-c", `echo a > "$RUNPLANE_OUTPUT_DIR/a"; echo a`}},
		api.Container{Name: "b", Command: []string{"sh", "-c", "echo b; exit 3"}},
		api.Container{Name: "c", Command: []string{"sh", "-c", `echo c > "$RUNPLANE_OUTPUT_DIR/c"; echo c`}},
	)
	spec.Keep = filepath.Join(t.TempDir(), "keep")
	began := time.Now()
	r, got := s.run(t, spec, out)
	want := header(spec.Containers[0]) + "a\n" + header(spec.Containers[1]) + "b\n"
	if r.ExitCode != 3 || got != want {
		t.Errorf("failing middle container: exit %d, output\n%s\nwant 3, output\n%s", r.ExitCode, got, want)
	}
	checkStatuses(t, r, began, []string{"a", "b", "c"}, []*int{ptr(0), ptr(3), nil})
	if s.cfg.LosesFailedFiles {
		if !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, "not kept") }) {
			t.Errorf("a failed job's files were lost without a warning: warnings %q", r.Warnings)
		}
	} else if _, err := os.Stat(filepath.Join(spec.Keep, "output/a")); err != nil {
		t.Errorf("a failed job's output was not kept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(spec.Keep, "output/c")); err == nil {
		t.Errorf("the container after the failed one wrote its output: it ran")
	}
}

func testContainersStop(t *testing.T, s *suite) {
	spec, out := s.containersSpec(t,
		api.Container{Name: "long", Command: []string{"sh", "-c", "echo ready; sleep 1000"}},
		api.Container{Name: "never", Command: []string{"echo", "never"}},
	)
	h := s.start(t, spec)
	waitOutput(t, out, "ready", s.cfg.Timeout)
	if err := s.ex.Stop(t.Context(), h, time.Minute); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	r := s.wait(t, h)
	b, _ := os.ReadFile(out.Name())
	if r.ExitCode != 143 || strings.Contains(string(b), "never") {
		t.Errorf("stopped first container: exit %d, output %q; want 143, the second container not started", r.ExitCode, b)
	}
	if len(r.Containers) != 2 || r.Containers[0].ExitCode == nil || *r.Containers[0].ExitCode != 143 ||
		r.Containers[1].StartTime != nil || r.Containers[1].ExitCode != nil {
		t.Errorf("Containers = %s, want the first ended with 143, the second not started", statuses(r.Containers))
	}
}

func ptr(i int) *int { return &i }

// checkStatuses checks r.Containers: names in order, exit codes (nil: never started, then no times either), and
// times in order between began and now.
func checkStatuses(t *testing.T, r executor.Result, began time.Time, names []string, codes []*int) {
	t.Helper()
	var gotNames []string
	for _, c := range r.Containers {
		gotNames = append(gotNames, c.Name)
	}
	if diff := cmp.Diff(names, gotNames); diff != "" {
		t.Fatalf("Containers names (-want +got):\n%s", diff)
	}
	// Container runtimes record times in whole seconds at worst.
	prev, end := began.Truncate(time.Second), time.Now().Add(time.Second)
	for i, c := range r.Containers {
		switch {
		case codes[i] == nil:
			if c.ExitCode != nil || c.StartTime != nil || c.CompletionTime != nil {
				t.Errorf("container %s: %s; want not started (name only)", c.Name, statuses(r.Containers[i:i+1]))
			}
		case c.ExitCode == nil || *c.ExitCode != *codes[i] || c.StartTime == nil || c.CompletionTime == nil:
			t.Errorf("container %s: %s; want exit code %d, start and completion times", c.Name, statuses(r.Containers[i:i+1]), *codes[i])
		case c.StartTime.Before(prev) || c.CompletionTime.Before(*c.StartTime) || c.CompletionTime.After(end):
			t.Errorf("container %s: start %v, completion %v; want in order after %v, before %v", c.Name, c.StartTime, c.CompletionTime, prev, end)
		default:
			prev = c.CompletionTime.Truncate(time.Second)
		}
	}
}

func statuses(cs []api.ContainerStatus) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString("{" + c.Name)
		if c.ExitCode != nil {
			b.WriteString(" exit " + strconv.Itoa(*c.ExitCode))
		}
		if c.StartTime != nil {
			b.WriteString(" start " + c.StartTime.Format(time.RFC3339Nano))
		}
		if c.CompletionTime != nil {
			b.WriteString(" end " + c.CompletionTime.Format(time.RFC3339Nano))
		}
		if c.Reason != "" {
			b.WriteString(" reason " + c.Reason)
		}
		b.WriteString("}")
	}
	return b.String()
}
