package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor/local"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/joblog"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/secret"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/store/sqlite"
)

func TestMain(m *testing.M) {
	local.MaybeRunLauncher()
	os.Exit(m.Run())
}

// env is one engine over a real SQLite store, a real local executor and a real git repository.
type env struct {
	dir    string
	st     *sqlite.Store
	ex     *local.Executor
	logs   *joblog.Store
	eng    *jobs.Engine
	repo   string
	cancel context.CancelFunc
	done   chan error
}

func newEnv(t *testing.T, opts jobs.Options, files map[string]string) *env {
	t.Helper()
	e := &env{dir: t.TempDir()}
	e.st = openStore(t, e.dir)
	git, err := gitsource.New(filepath.Join(e.dir, "git"), gitsource.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The engine's tests talk to their jobs through files in the test's directory, which a sandbox hides from
	// jobs; containment is executor/local's and test/e2e's to test.
	e.ex, err = local.New(local.Options{WorkDir: filepath.Join(e.dir, "work"), Git: git, Isolation: local.IsolationNone})
	if err != nil {
		t.Fatal(err)
	}
	if e.logs, err = joblog.Open(filepath.Join(e.dir, "logs"), joblog.Options{}); err != nil {
		t.Fatal(err)
	}
	if files == nil {
		files = map[string]string{"hello.sh": "#!/bin/sh\necho hello\n"}
	}
	e.repo = gittest.URL(gittest.NewRepo(t, files))
	if err := e.st.CreateRunner(t.Context(), api.Runner{Name: "r", GitURL: e.repo, Secret: map[string]string{"API_KEY": "s3cr3t"}}); err != nil {
		t.Fatal(err)
	}
	e.eng = jobs.New(e.st, e.ex, e.logs, opts)
	return e
}

func openStore(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	key, err := secret.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := secret.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "runplane.db"), sqlite.Options{Cipher: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// start runs the engine until the test ends.
func (e *env) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan error, 1)
	go func() { e.done <- e.eng.Run(ctx) }()
	t.Cleanup(func() { e.stop(t) })
}

func (e *env) stop(t *testing.T) {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	if err := <-e.done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func (e *env) task(t *testing.T, tk api.Task) {
	t.Helper()
	if tk.Runner == "" {
		tk.Runner = "r"
	}
	if err := e.st.CreateTask(t.Context(), tk); err != nil {
		t.Fatal(err)
	}
}

// run submits a job and waits for it to end.
func (e *env) run(t *testing.T, task string, input string) store.Job {
	t.Helper()
	job, err := e.eng.Submit(t.Context(), jobs.Request{Task: task, Owner: "alice", Input: []byte(input)})
	if err != nil {
		t.Fatalf("Submit(%s): %v", task, err)
	}
	return e.await(t, job.ID)
}

func (e *env) await(t *testing.T, id string) store.Job {
	t.Helper()
	job, err := e.eng.Await(t.Context(), id, 30*time.Second)
	if err != nil {
		t.Fatalf("Await(%s): %v", id, err)
	}
	if !job.Status.Final() {
		t.Fatalf("job %s still %s after 30s", id, job.Status)
	}
	return job
}

func TestJobOutcomes(t *testing.T) {
	e := newEnv(t, jobs.Options{}, nil)
	e.start(t)
	tests := []struct {
		name, command, input string
		wantStatus           api.JobStatus
		wantExit             int
		wantReason, wantData string
		wantStdout           string
	}{
		{name: "success with result", command: `./hello.sh; echo '^JSON {"n": 1} ^JSON'`,
			wantStatus: api.JobSucceeded, wantData: `{"n":1}`, wantStdout: "hello\n"},
		{name: "input as EXTRA_VARS", command: `printf '^JSON%s^JSON' "$EXTRA_VARS"`, input: `{"x":[1,2]}`,
			wantStatus: api.JobSucceeded, wantData: `{"x":[1,2]}`},
		{name: "secret as env (masked in the log) and identity", command: `echo "$API_KEY $RUNPLANE_TASK $RUNPLANE_OWNER"`,
			wantStatus: api.JobSucceeded, wantStdout: "*** identity alice"},
		{name: "secret delivered", command: `[ "$API_KEY" = "$(cat ${RUNPLANE_SECRET_DIR:-/etc/secret}/API_KEY)" ] && [ ${#API_KEY} = 6 ] && echo delivered`,
			wantStatus: api.JobSucceeded, wantStdout: "delivered"},
		{name: "non-zero exit", command: `echo oops >&2; exit 3`,
			wantStatus: api.JobFailed, wantExit: 3, wantReason: "exit code 3", wantStdout: "oops"},
		{name: "invalid result", command: `echo '^JSON {nope ^JSON'`,
			wantStatus: api.JobSucceeded, wantData: `{"error":"failed to parse JSON"}`},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("t%d", i)
			if strings.Contains(tc.name, "identity") {
				name = "identity"
			}
			e.task(t, api.Task{Name: name, Command: tc.command})
			job := e.run(t, name, tc.input)
			if job.Status != tc.wantStatus || job.ExitCode == nil || *job.ExitCode != tc.wantExit || job.Reason != tc.wantReason {
				t.Errorf("job = %s exit %v reason %q, want %s exit %d reason %q (stdout %q)",
					job.Status, derefInt(job.ExitCode), job.Reason, tc.wantStatus, tc.wantExit, tc.wantReason, job.Stdout)
			}
			if string(job.JSONData) != tc.wantData {
				t.Errorf("json_data = %s, want %s", job.JSONData, tc.wantData)
			}
			if !strings.Contains(job.Stdout, tc.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", job.Stdout, tc.wantStdout)
			}
			wantCompleted, wantFailed := 1, 0
			if tc.wantStatus != api.JobSucceeded {
				wantCompleted, wantFailed = 0, 1
			}
			if job.Completed != wantCompleted || job.Failed != wantFailed || job.StartTime == nil || job.CompletionTime == nil {
				t.Errorf("counters/times = completed %d failed %d start %v end %v", job.Completed, job.Failed, job.StartTime, job.CompletionTime)
			}
			if !strings.HasPrefix(job.ID, name+"-") || len(job.ID) != len(name)+6 {
				t.Errorf("job id %q, want %s-xxxxx", job.ID, name)
			}
		})
	}
}

func derefInt(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestSubmitRejects(t *testing.T) {
	e := newEnv(t, jobs.Options{}, nil)
	e.task(t, api.Task{Name: "typed", Command: "true",
		Schema: json.RawMessage(`{"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}}`)})
	tests := []struct {
		name, task, input string
		wantNotFound      bool
		wantFields        []string
	}{
		{name: "unknown task", task: "nope", wantNotFound: true},
		{name: "not JSON", task: "typed", input: `{"n":`},
		{name: "missing required", task: "typed", input: `{}`, wantFields: []string{"/"}},
		{name: "wrong type", task: "typed", input: `{"n":"x"}`, wantFields: []string{"/n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.eng.Submit(t.Context(), jobs.Request{Task: tc.task, Owner: "a", Input: []byte(tc.input)})
			if tc.wantNotFound {
				if !errors.Is(err, jobs.ErrTaskNotFound) || !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("Submit = %v, want ErrTaskNotFound", err)
				}
				return
			}
			var inv *api.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("Submit = %v, want *api.InvalidError", err)
			}
			var paths []string
			for _, f := range inv.Fields {
				paths = append(paths, f.Path)
			}
			if strings.Join(paths, ",") != strings.Join(tc.wantFields, ",") {
				t.Errorf("fields = %v, want paths %v", inv.Fields, tc.wantFields)
			}
		})
	}
	n, err := e.st.CountJobs(t.Context(), api.JobQueued)
	if err != nil || n != 0 {
		t.Errorf("queued jobs after rejected submissions = %d, %v; want 0", n, err)
	}
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t, jobs.Options{}, nil)
	e.task(t, api.Task{Name: "t", Command: "true"})
	first, err := e.eng.Submit(t.Context(), jobs.Request{Task: "t", Owner: "a", OwnerID: "id-a", IdempotencyKey: "k1"})
	if err != nil || !first.Created {
		t.Fatalf("first Submit = %v, %v", first.Created, err)
	}
	again, err := e.eng.Submit(t.Context(), jobs.Request{Task: "t", Owner: "a", OwnerID: "id-a", IdempotencyKey: "k1"})
	if err != nil || again.Created || again.ID != first.ID {
		t.Errorf("repeat Submit = %s created %v %v, want %s not created", again.ID, again.Created, err, first.ID)
	}
	other, err := e.eng.Submit(t.Context(), jobs.Request{Task: "t", Owner: "b", OwnerID: "id-b", IdempotencyKey: "k1"})
	if err != nil || !other.Created || other.ID == first.ID {
		t.Errorf("other owner Submit = %s created %v %v, want a new job", other.ID, other.Created, err)
	}
	renamed, err := e.eng.Submit(t.Context(), jobs.Request{Task: "t", Owner: "b", OwnerID: "id-a", IdempotencyKey: "k1"})
	if err != nil || renamed.Created || renamed.ID != first.ID {
		t.Errorf("same user id, other name Submit = %s created %v %v, want %s not created", renamed.ID, renamed.Created, err, first.ID)
	}
	e.task(t, api.Task{Name: "u", Command: "true"})
	if _, err := e.eng.Submit(t.Context(), jobs.Request{Task: "u", Owner: "a", OwnerID: "id-a", IdempotencyKey: "k1"}); !errors.Is(err, jobs.ErrKeyReused) {
		t.Errorf("Submit with a key used for another task = %v, want ErrKeyReused", err)
	}
	if _, err := e.eng.Submit(t.Context(), jobs.Request{Task: "t", Owner: "a", IdempotencyKey: "k2"}); err == nil {
		t.Errorf("Submit with a key and no user id = nil error, want one")
	}
}

func TestTimeoutKillsTree(t *testing.T) {
	e := newEnv(t, jobs.Options{StopGrace: 200 * time.Millisecond}, nil)
	e.start(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	e.task(t, api.Task{Name: "slow", Command: fmt.Sprintf(`sleep 600 & echo $! > %s; wait`, pidFile), Timeout: api.Duration(time.Second)})
	job := e.run(t, "slow", "")
	if job.Status != api.JobFailed || job.Reason != api.ReasonTimeout {
		t.Errorf("job = %s %q, want failed %q", job.Status, job.Reason, api.ReasonTimeout)
	}
	assertGone(t, pidFile)
}

// assertGone checks that the process whose host pid the job wrote is gone. In a PID namespace the job sees its own
// pid numbers, so a pid that is absent or belongs to another process both count as gone.
func assertGone(t *testing.T, pidFile string) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("job did not write its pid: %v", err)
	}
	pid := strings.TrimSpace(string(b))
	deadline := time.Now().Add(5 * time.Second)
	for {
		cmd, err := os.ReadFile("/proc/" + pid + "/cmdline")
		if err != nil || !strings.Contains(string(cmd), "sleep\x00600") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %s (sleep 600) survived its job", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t, jobs.Options{StopGrace: 200 * time.Millisecond}, nil)
	e.task(t, api.Task{Name: "slow", Command: "sleep 600"})

	// A queued job is cancelled without ever running.
	queued, err := e.eng.Submit(t.Context(), jobs.Request{Task: "slow", Owner: "a"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.eng.Cancel(t.Context(), queued.ID)
	if err != nil || got.Status != api.JobCancelled || got.Reason != api.ReasonCancelled || got.StartTime != nil {
		t.Fatalf("Cancel(queued) = %+v, %v", got.Job, err)
	}

	e.start(t)
	running, err := e.eng.Submit(t.Context(), jobs.Request{Task: "slow", Owner: "a"})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, e, running.ID, api.JobRunning)
	got, err = e.eng.Cancel(t.Context(), running.ID)
	if err != nil || got.Status != api.JobCancelled || got.Reason != api.ReasonCancelled {
		t.Fatalf("Cancel(running) = %+v, %v", got.Job, err)
	}
	if _, err := e.eng.Cancel(t.Context(), running.ID); !errors.Is(err, jobs.ErrFinished) || !errors.Is(err, store.ErrConflict) {
		t.Errorf("Cancel(finished) = %v, want ErrFinished", err)
	}
	if _, err := e.eng.Cancel(t.Context(), "nope-12345"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Cancel(unknown) = %v, want ErrNotFound", err)
	}
}

func waitStatus(t *testing.T, e *env, id string, want api.JobStatus) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := e.st.GetJob(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status == want && (want != api.JobRunning || j.Handle != "") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is %s, want %s", id, j.Status, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	e := newEnv(t, jobs.Options{MaxConcurrent: 2}, nil)
	dir := t.TempDir()
	// Each job counts the jobs running beside it (including itself) through marker files.
	e.task(t, api.Task{Name: "c", Command: fmt.Sprintf(
		`touch %[1]s/$RUNPLANE_JOB_ID; ls %[1]s | wc -l > %[1]s.$RUNPLANE_JOB_ID.n; sleep 0.2; rm %[1]s/$RUNPLANE_JOB_ID`, dir)})
	var ids []string
	for range 6 {
		j, err := e.eng.Submit(t.Context(), jobs.Request{Task: "c", Owner: "a"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	e.start(t)
	most := 0
	for _, id := range ids {
		if j := e.await(t, id); j.Status != api.JobSucceeded {
			t.Fatalf("job %s = %s %s: %s", id, j.Status, j.Reason, j.Stdout)
		}
		b, err := os.ReadFile(dir + "." + id + ".n")
		if err != nil {
			t.Fatal(err)
		}
		var n int
		fmt.Sscan(string(b), &n)
		most = max(most, n)
	}
	if most < 1 || most > 2 {
		t.Errorf("at most %d jobs ran at once, want 1..2 with MaxConcurrent 2", most)
	}
}

func TestRecoverOrphans(t *testing.T) {
	e := newEnv(t, jobs.Options{Exclusive: true}, nil)
	e.task(t, api.Task{Name: "t", Command: "true"})
	ctx := t.Context()
	// Left by a crashed process: one job running under a handle whose process is gone, one claimed before Start
	// returned, one still queued.
	var ids []string
	for range 3 {
		j, err := e.eng.Submit(ctx, jobs.Request{Task: "t", Owner: "a"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	for i := range 2 {
		// The crashed process's leases have not run out: an exclusive store's jobs are recovered at once anyway.
		j, err := e.st.ClaimJob(ctx, time.Now(), store.Lease{Owner: "crashed", Until: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := e.st.SetJobHandle(ctx, j.ID, "local:999999999:1:"+j.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.start(t)
	for i, id := range ids {
		j := e.await(t, id)
		want, reason := api.JobFailed, api.ReasonOrphaned
		if i == 2 {
			want, reason = api.JobSucceeded, ""
		}
		if j.Status != want || j.Reason != reason {
			t.Errorf("job %d = %s %q, want %s %q", i, j.Status, j.Reason, want, reason)
		}
	}
}

// TestLeases: on a shared store, a job whose server stopped is recovered once its lease runs out, not before; the
// jobs a server runs keep their leases renewed.
func TestLeases(t *testing.T) {
	e := newEnv(t, jobs.Options{LeaseTTL: 300 * time.Millisecond, ServerID: "me"}, nil)
	e.task(t, api.Task{Name: "t", Command: "true"})
	e.task(t, api.Task{Name: "slow", Command: "sleep 2"})
	ctx := t.Context()
	sub, err := e.eng.Submit(ctx, jobs.Request{Task: "t", Owner: "a"})
	if err != nil {
		t.Fatal(err)
	}
	leaseEnd := time.Now().Add(time.Second)
	if _, err := e.st.ClaimJob(ctx, time.Now(), store.Lease{Owner: "gone", Until: leaseEnd}); err != nil {
		t.Fatal(err)
	}
	e.start(t)
	j := e.await(t, sub.ID)
	if j.Status != api.JobFailed || j.Reason != api.ReasonOrphaned {
		t.Errorf("job of a stopped server = %s %q, want failed %q", j.Status, j.Reason, api.ReasonOrphaned)
	}
	if j.CompletionTime == nil || j.CompletionTime.Before(leaseEnd) {
		t.Errorf("job of a stopped server recovered at %v, before its lease ended at %v", j.CompletionTime, leaseEnd)
	}

	slow, err := e.eng.Submit(ctx, jobs.Request{Task: "slow", Owner: "a"})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, e, slow.ID, api.JobRunning)
	first, err := e.st.GetJob(ctx, slow.ID)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		cur, err := e.st.GetJob(ctx, slow.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Status != api.JobRunning {
			t.Fatalf("slow job ended (%s %q) before its lease was renewed", cur.Status, cur.Reason)
		}
		if cur.Lease.Owner != "me" {
			t.Fatalf("running job's lease owner = %q, want me", cur.Lease.Owner)
		}
		if cur.Lease.Until.After(first.Lease.Until) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease of a running job not renewed: still until %v", cur.Lease.Until)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := e.await(t, slow.ID); got.Status != api.JobSucceeded {
		t.Errorf("slow job = %s %q, want succeeded (its own server renewed it; nobody took it over)", got.Status, got.Reason)
	}
}

func TestShutdownInterruptsRunningJobs(t *testing.T) {
	e := newEnv(t, jobs.Options{ShutdownGrace: 100 * time.Millisecond, StopGrace: 100 * time.Millisecond}, nil)
	e.task(t, api.Task{Name: "slow", Command: "sleep 600"})
	e.start(t)
	j, err := e.eng.Submit(t.Context(), jobs.Request{Task: "slow", Owner: "a"})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, e, j.ID, api.JobRunning)
	e.stop(t)
	got, err := e.st.GetJob(t.Context(), j.ID)
	if err != nil || got.Status != api.JobFailed || !strings.Contains(got.Reason, "interrupted") {
		t.Errorf("after shutdown job = %s %q, %v; want failed, interrupted", got.Status, got.Reason, err)
	}
}

func TestTaskDeletedBeforeStart(t *testing.T) {
	e := newEnv(t, jobs.Options{}, nil)
	e.task(t, api.Task{Name: "t", Command: "true"})
	j, err := e.eng.Submit(t.Context(), jobs.Request{Task: "t", Owner: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.DeleteTask(t.Context(), "t"); err != nil {
		t.Fatal(err)
	}
	e.start(t)
	if got := e.await(t, j.ID); got.Status != api.JobFailed || got.Reason != api.ReasonTaskDeleted {
		t.Errorf("job = %s %q, want failed %q", got.Status, got.Reason, api.ReasonTaskDeleted)
	}
}

func TestStartFailureIsRecorded(t *testing.T) {
	e := newEnv(t, jobs.Options{}, nil)
	if err := e.st.CreateRunner(t.Context(), api.Runner{Name: "gone", GitURL: "file:///nonexistent/repo.git", Token: "tok-123456"}); err != nil {
		t.Fatal(err)
	}
	e.task(t, api.Task{Name: "t", Runner: "gone", Command: "true"})
	e.start(t)
	got := e.run(t, "t", "")
	if got.Status != api.JobFailed || !strings.HasPrefix(got.Reason, "start: ") || strings.Contains(got.Reason, "tok-123456") {
		t.Errorf("job = %s %q, want failed with a start reason and no token", got.Status, got.Reason)
	}
}

func TestLogs(t *testing.T) {
	e := newEnv(t, jobs.Options{StdoutLimit: 1000}, nil)
	e.start(t)
	e.task(t, api.Task{Name: "short", Command: "echo short"})
	e.task(t, api.Task{Name: "long", Command: `i=0; while [ $i -lt 500 ]; do echo 0123456789; i=$((i+1)); done; echo '^JSON {"late": true} ^JSON'`})

	short := e.run(t, "short", "")
	if short.Stdout != "short\n" {
		t.Errorf("short stdout = %q", short.Stdout)
	}
	if files, _ := filepath.Glob(filepath.Join(e.dir, "logs", "short-*")); len(files) != 0 {
		t.Errorf("a short job's log went to a file: %v", files)
	}

	long := e.run(t, "long", "")
	// Hosts without namespaces add a warning about secrets; the cut warning must be there either way.
	if len(long.Stdout) != 1000 || !slices.ContainsFunc(long.Warnings, func(w string) bool { return strings.Contains(w, "cut at 1000") }) {
		t.Errorf("long job: stdout %d bytes, warnings %q; want 1000 bytes and a cut warning", len(long.Stdout), long.Warnings)
	}
	if long.JSONData != nil {
		t.Errorf("json_data = %s from beyond StdoutLimit, want none", long.JSONData)
	}
	all, cut, err := e.logs.ReadAll(long.ID, 1<<20)
	if err != nil || cut || len(all) != 5500+len("^JSON {\"late\": true} ^JSON\n") {
		t.Errorf("full log = %d bytes, cut %v, %v; want all of it kept", len(all), cut, err)
	}
}

// TestDefaultTimeout: a job of a task without a timeout ends at the engine's default, as a task's timeout ends it.
func TestDefaultTimeout(t *testing.T) {
	e := newEnv(t, jobs.Options{DefaultTimeout: 500 * time.Millisecond, StopGrace: 200 * time.Millisecond}, nil)
	e.start(t)
	e.task(t, api.Task{Name: "slow", Command: "sleep 600"})
	e.task(t, api.Task{Name: "own", Command: "sleep 1; echo done", Timeout: api.Duration(time.Minute)})
	if job := e.run(t, "slow", ""); job.Status != api.JobFailed || job.Reason != api.ReasonTimeout {
		t.Errorf("job without a timeout = %s %q, want failed %q", job.Status, job.Reason, api.ReasonTimeout)
	}
	if job := e.run(t, "own", ""); job.Status != api.JobSucceeded {
		t.Errorf("job whose task's timeout is longer than the default = %s %q, want succeeded", job.Status, job.Reason)
	}
}

// TestLogCap: a job writing past the log cap runs to its end; its log stops at the cap and says so.
func TestLogCap(t *testing.T) {
	e := newEnv(t, jobs.Options{}, nil)
	var err error
	if e.logs, err = joblog.Open(filepath.Join(e.dir, "capped"), joblog.Options{MaxBytes: 1000, SpillBytes: 100}); err != nil {
		t.Fatal(err)
	}
	e.eng = jobs.New(e.st, e.ex, e.logs, jobs.Options{})
	e.start(t)
	// 200 lines of 10 bytes, then a last word that only a job still running can write.
	e.task(t, api.Task{Name: "chatty", Command: `i=0; while [ $i -lt 200 ]; do echo "line $(printf %04d $i)"; i=$((i+1)); done; echo finished >&2; exit 4`})
	job := e.run(t, "chatty", "")
	if job.Status != api.JobFailed || derefInt(job.ExitCode) != 4 {
		t.Errorf("job = %s exit %v, want failed with the script's own exit code 4 (it ran to its end)", job.Status, derefInt(job.ExitCode))
	}
	log, _, err := e.logs.ReadAll(job.ID, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	const cut = "line 0099\nrunplane: the log is cut here, at 1000 bytes"
	const end = "runplane: 1009 bytes of output were dropped after the cut at 1000 bytes\n"
	if !strings.HasPrefix(string(log), "line 0000\n") || !strings.Contains(string(log), cut) || !strings.HasSuffix(string(log), end) || len(log) > 1200 {
		t.Errorf("log (%d bytes) = %q...%q; want the first 1000 bytes, %q, and the end %q", len(log), log[:min(len(log), 40)], log[max(0, len(log)-300):], cut, end)
	}
	if strings.Contains(string(log), "finished") {
		t.Errorf("log holds output from past the cap")
	}
	if !slices.ContainsFunc(job.Warnings, func(w string) bool { return strings.Contains(w, "log cut at 1000 bytes") }) {
		t.Errorf("warnings %q, want one saying the log was cut", job.Warnings)
	}
	if job.Stdout != string(log) {
		t.Errorf("stdout = %q, want the whole (cut) log %q", job.Stdout, log)
	}
}

// TestMaxQueuedPerOwner: an owner with as many queued jobs as allowed is refused with *QueueFullError, other owners
// and idempotent resubmissions are not. The engine is not running, so submitted jobs stay queued.
func TestMaxQueuedPerOwner(t *testing.T) {
	e := newEnv(t, jobs.Options{MaxQueuedPerOwner: 2}, nil)
	e.task(t, api.Task{Name: "t", Command: "true"})
	submit := func(owner, key string) (jobs.Submitted, error) {
		return e.eng.Submit(t.Context(), jobs.Request{Task: "t", Owner: owner, OwnerID: "id-" + owner, IdempotencyKey: key})
	}
	first, err := submit("alice", "k1")
	if err != nil {
		t.Fatal(err)
	}
	second, err := submit("alice", "")
	if err != nil {
		t.Fatal(err)
	}
	accepted := []string{first.ID, second.ID}
	tests := []struct {
		name, owner, key string
		wantFull         bool
	}{
		{"past the cap", "alice", "", true},
		{"past the cap with a new key", "alice", "k2", true},
		{"resubmission of a queued job", "alice", "k1", false},
		{"another owner", "bob", "", false},
	}
	for _, tt := range tests {
		got, err := submit(tt.owner, tt.key)
		var full *jobs.QueueFullError
		switch {
		case tt.wantFull:
			if !errors.As(err, &full) || !errors.Is(err, store.ErrQueueFull) || full.Max != 2 || full.RetryAfter <= 0 {
				t.Errorf("%s: Submit = %v, want a *QueueFullError of 2 with a RetryAfter", tt.name, err)
			} else if !strings.Contains(err.Error(), "alice already has 2 jobs queued") {
				t.Errorf("%s: error %q does not say who and how many", tt.name, err)
			}
		case err != nil:
			t.Errorf("%s: Submit = %v, want it accepted", tt.name, err)
		case tt.key == "k1" && (got.Created || got.ID != first.ID):
			t.Errorf("%s: Submit = %s created %v, want the earlier %s", tt.name, got.ID, got.Created, first.ID)
		default:
			accepted = append(accepted, got.ID)
		}
	}
	// Once the queue moves, alice may submit again.
	e.start(t)
	for _, id := range accepted {
		e.await(t, id)
	}
	if _, err := submit("alice", ""); err != nil {
		t.Errorf("Submit after the queue drained = %v, want it accepted", err)
	}
}
