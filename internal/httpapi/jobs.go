package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/joblog"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/store"
)

// Paging of GET /jobs: jobs grow without bound, so a list without ?limit is the newest defaultJobsLimit.
const (
	defaultJobsLimit = 100
	maxJobsLimit     = 1000
)

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

// submitJob runs a task: the body is the job's input (EXTRA_VARS), verbatim. A synchronous task, or any task
// with ?wait=30s, waits for the job up to the task's sync_timeout (or the wait given, at most api.MaxSyncTimeout)
// and answers the full job if it finished; otherwise, and always with ?wait=0, it answers {"msg","id"}.
func (h *Handler) submitJob(w http.ResponseWriter, r *http.Request) error {
	input, err := readInput(r.Body)
	if err != nil {
		return err
	}
	return h.submit(w, r, r.PathValue("task"), input)
}

// rerunJob starts a new job of a job's task with the job's input, validated again against the task's schema as
// it is now; the answer is a submission's. Authorized as a submission: jobs write on the task.
func (h *Handler) rerunJob(w http.ResponseWriter, r *http.Request) error {
	old, err := h.job(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	return h.submit(w, r, old.Task, old.Input)
}

// submit queues a job of task with input as the caller and answers as submitJob says, honouring the request's
// Idempotency-Key, ?wait and Prefer headers.
func (h *Handler) submit(w http.ResponseWriter, r *http.Request, name string, input []byte) error {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok {
		return auth.ErrUnauthenticated
	}
	// They are checked before anything is queued, so a bad one queues nothing.
	key, asked, pref, err := submission(r)
	if err != nil {
		return err
	}
	sub, err := h.engine.Submit(r.Context(), jobs.Request{Task: name, Owner: p.Username, OwnerID: p.UserID, Input: input,
		IdempotencyKey: key})
	if err != nil {
		switch {
		case errors.Is(err, store.ErrNotFound):
			return withMsg(err, "task %q not found", name)
		case errors.Is(err, jobs.ErrKeyReused):
			// The earlier job's task is not named: the caller may no longer read it.
			return withMsg(err, "Idempotency-Key %q was already used for a job of another task: use a new key", key)
		}
		return err
	}
	// A replay answers a job submitted earlier, maybe before the caller lost access to its task's jobs: the
	// caller must be able to read it now.
	if !sub.Created {
		if err := mustMay(r.Context(), api.AccessRead, api.ResourceJobs, sub.Job.Task); err != nil {
			return err
		}
	}
	setTarget(w, sub.Job.ID)
	job, wait := sub.Job, waitFor(asked, sub.Task)
	if wait > 0 && !job.Status.Final() {
		done, err := h.engine.Await(r.Context(), job.ID, wait)
		if err == nil {
			job = done
		} else if r.Context().Err() == nil {
			return err
		}
		// The request ended while waiting (client gone, server stopping): the job exists, say so.
	}
	if wait > 0 && job.Status.Final() {
		writeJSON(w, http.StatusOK, h.view(job))
		return nil
	}
	// Not finished (or not waited for): Kriten's 200 {"msg","id"}, or 202 for a client that asked for async
	// answers; either way the job's URL and status say where it is and how it stands.
	answerCreated(w, pref, "/jobs/", api.NewJobCreated(job.ID, job.Status), job.ID)
	return nil
}

// submission reads what a job or run submission asks besides its body: its Idempotency-Key, ?wait (nil when
// absent) and Prefer; respond-async without ?wait answers at once, or after the wait Prefer names.
func submission(r *http.Request) (key string, asked *time.Duration, pref preference, err error) {
	key = r.Header.Get("Idempotency-Key")
	if err = checkIdempotencyKey(key); err != nil {
		return
	}
	if asked, err = waitParam(r); err != nil {
		return
	}
	if pref, err = parsePrefer(r.Header.Values("Prefer")); err != nil {
		return
	}
	if pref.async && asked == nil {
		asked = &pref.wait
	}
	return key, asked, pref, nil
}

// answerCreated answers a submission that is not over (or not waited for): Kriten's 200 {"msg","id"}, or 202 for
// a client that asked for async answers; either way the URL (under collection) in Location.
func answerCreated(w http.ResponseWriter, pref preference, collection string, body any, id string) {
	w.Header().Set("Location", apiPrefix+collection+url.PathEscape(id))
	status := http.StatusOK
	if pref.async {
		w.Header().Set("Preference-Applied", "respond-async")
		status = http.StatusAccepted
	}
	writeJSON(w, status, body)
}

// waitParam reads ?wait: nil when absent; 0 forces async.
func waitParam(r *http.Request) (*time.Duration, error) {
	q := r.URL.Query()
	if !q.Has("wait") {
		return nil, nil
	}
	d, err := api.ParseDuration(q.Get("wait"))
	if err != nil || d < 0 {
		return nil, api.Invalidf("query parameter wait=%q: want a duration such as 30s, or 0", q.Get("wait"))
	}
	return &d, nil
}

// waitFor is how long a submission of task waits: the ?wait asked if any, else the task's sync timeout when it is
// synchronous, else 0; at most api.MaxSyncTimeout.
func waitFor(asked *time.Duration, task api.Task) time.Duration {
	var wait time.Duration
	switch {
	case asked != nil:
		wait = *asked
	case task.Synchronous:
		wait = task.EffectiveSyncTimeout()
	}
	return min(wait, api.MaxSyncTimeout)
}

func checkIdempotencyKey(k string) error {
	if len(k) > maxIdempotencyKey {
		return api.Invalidf("Idempotency-Key longer than %d characters", maxIdempotencyKey)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return api.Invalidf("Idempotency-Key must be printable ASCII without spaces")
		}
	}
	return nil
}

// listJobs answers jobs newest first, a page at a time (?limit, default 100, at most 1000; ?offset), optionally
// filtered (jobQuery: ?task, ?status, ?owner, ?run, ?since, ?until) and always to the tasks whose jobs the caller may
// read. Content-Range carries the total of that filtered set.
func (h *Handler) listJobs(w http.ResponseWriter, r *http.Request) error {
	pg, err := parsePage(r, defaultJobsLimit, maxJobsLimit)
	if err != nil {
		return err
	}
	f, err := jobQuery(r.URL.Query(), time.Now())
	if err != nil {
		return err
	}
	f.Limit, f.Offset = pg.limit, pg.offset
	f.Tasks = readableTasks(r)
	if f.Run != "" && f.Tasks != nil {
		// A run's jobs are its steps': whoever may read the run may read them all, inline steps' (no task) too.
		if run, err := h.st.GetRun(r.Context(), f.Run); err == nil && may(r.Context(), api.AccessRead, api.ResourceRuns, run.Workflow) {
			f.Tasks = nil
		}
	}
	list, total, err := h.st.ListJobs(r.Context(), f)
	if err != nil {
		return err
	}
	// The store lists jobs without their stdout (nor input): a page of a thousand jobs with large logs would
	// otherwise be gigabytes, read into memory whole. Kriten's "stdout" field stays, empty; GET /jobs/{id} and
	// /jobs/{id}/log have it.
	out := make([]api.Job, 0, len(list))
	for _, j := range list {
		out = append(out, j.Job)
	}
	writeList(w, "jobs", out, span{from: pg.offset}, total)
	return nil
}

// readableTasks is the filter that keeps a job list to the tasks whose jobs the caller may read: nil when they may
// read every job. Roles name tasks, so the list is the tasks they name (a task deleted since keeps its jobs).
func readableTasks(r *http.Request) []string { return readableNames(r, api.ResourceJobs) }

// getJob answers one job. A job still running shows the output it has written so far. With ?wait=30s it first
// waits (at most api.MaxSyncTimeout) for the job to end: a long poll that `runplane wait` uses, woken by the job's
// completion.
func (h *Handler) getJob(w http.ResponseWriter, r *http.Request) error {
	wait, err := waitParam(r)
	if err != nil {
		return err
	}
	job, err := h.job(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	if wait != nil && *wait > 0 && !job.Status.Final() {
		done, err := h.engine.Await(r.Context(), job.ID, min(*wait, api.MaxSyncTimeout))
		if err != nil && r.Context().Err() == nil {
			return err
		}
		if err == nil {
			job = done
		}
	}
	writeJSON(w, http.StatusOK, h.view(job))
	return nil
}

// cancelJob ends a queued or running job (status cancelled) and answers it; 409 if it already ended.
func (h *Handler) cancelJob(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	job, err := h.engine.Cancel(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return withMsg(err, "job %q not found", id)
	case errors.Is(err, store.ErrConflict):
		return withMsg(err, "job %q already finished", id)
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusOK, h.view(job))
	return nil
}

// jobLog answers the job's combined stdout and stderr as text. With ?follow=true on a live job, the answer is
// streamed (chunked, flushed as output arrives) and ends when the job ends.
func (h *Handler) jobLog(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	follow, err := queryBool(r, "follow")
	if err != nil {
		return err
	}
	offset, err := queryInt(r, "offset", 0)
	if err != nil {
		return err
	}
	job, err := h.job(r, id)
	if err != nil {
		return err
	}
	var rc io.ReadCloser
	followed := follow && !job.Status.Final()
	if followed {
		done, err := h.engine.Done(r.Context(), id)
		if err != nil {
			return err
		}
		if rc, err = h.logs.Follow(r.Context(), id, done); err != nil {
			return err
		}
	} else if rc, err = h.endedLog(job); err != nil {
		return err
	}
	defer rc.Close()
	// ?offset=N resumes a log from its Nth byte: a follower whose stream broke asks for what it has not seen.
	if err := skip(rc, int64(offset)); err != nil {
		return err
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc2 := http.NewResponseController(w)
	_ = rc2.Flush()
	sent, err := copyLog(w, rc2, rc, follow)
	if err != nil || r.Context().Err() != nil {
		return nil // the client went away, or the status is sent already: nothing more to say
	}
	if !followed {
		return nil
	}
	// The job ended while followed. Its log may have left the live log store before the follower read it (a
	// short job's output is kept in the store, its file removed): send the ended log past what was sent.
	if job, err = h.st.GetJob(r.Context(), id); err != nil || !job.Status.Final() {
		return nil
	}
	rest, err := h.endedLog(job)
	if err != nil {
		return nil
	}
	defer rest.Close()
	if skip(rest, int64(offset)+sent) == nil {
		_, _ = copyLog(w, rc2, rest, true)
	}
	return nil
}

// endedLog opens the log of a job that is not followed: its log file, or, without one (never started, a short
// log kept in the store, or pruned by retention), what the store kept.
func (h *Handler) endedLog(job store.Job) (io.ReadCloser, error) {
	f, err := h.logs.Open(job.ID)
	switch {
	case errors.Is(err, joblog.ErrNotFound):
		return io.NopCloser(strings.NewReader(job.Stdout)), nil
	case err != nil:
		return nil, err
	}
	return f, nil
}

// skip reads and drops the first n bytes of r (fewer if r ends before).
func skip(r io.Reader, n int64) error {
	if n <= 0 {
		return nil
	}
	if _, err := io.CopyN(io.Discard, r, n); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// copyLog copies a log to w, flushing each chunk when flush is set, and says how many bytes it sent. An error is
// either side's: the client gone (a failed write) or the log unreadable.
func copyLog(w io.Writer, rc *http.ResponseController, log io.Reader, flush bool) (int64, error) {
	buf := make([]byte, 32<<10)
	var sent int64
	for {
		n, rerr := log.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return sent, err
			}
			sent += int64(n)
			if flush {
				_ = rc.Flush()
			}
		}
		if rerr == io.EOF {
			return sent, nil
		}
		if rerr != nil {
			return sent, rerr
		}
	}
}

// job loads a job, naming it in a 404.
func (h *Handler) job(r *http.Request, id string) (store.Job, error) {
	if j, ok := loadedJob(r, id); ok {
		return j, nil
	}
	j, err := h.st.GetJob(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Job{}, withMsg(err, "job %q not found", id)
	}
	return j, err
}

// view is the API form of a job: never its input, handle or idempotency key. A live job's stdout comes from its
// log, bounded by the stdout limit.
func (h *Handler) view(j store.Job) api.Job {
	v := j.Job
	if len(j.Input) > 0 {
		v.Input = json.RawMessage(j.Input)
	}
	if !v.Status.Final() {
		if b, _, err := h.logs.ReadAll(v.ID, h.stdoutLimit); err == nil {
			v.Stdout = string(b)
		}
	}
	return v
}
