package server

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// listBase is when seeded jobs and audit entries were created: long ago, so "since=24h" finds none of them.
var listBase = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// rangeTotal is the total of a Content-Range header such as "jobs 0-9/123" or "jobs */123".
func rangeTotal(t *testing.T, r *resp) int {
	t.Helper()
	cr := r.header.Get("Content-Range")
	i := strings.LastIndexByte(cr, '/')
	n, err := strconv.Atoi(cr[i+1:])
	if i < 0 || err != nil {
		t.Fatalf("%s %s: Content-Range %q, want <kind> <range>/<total>", r.req.method, r.req.path, cr)
	}
	return n
}

// seedJobs stores 30 jobs straight into the store, job i of task alpha, beta or gamma (i%3), owned by ann (even
// i) or bob, created i hours after listBase, and ends jobs 0, 5, 10, ... as succeeded and 1, 6, 11, ... as
// failed; the others stay queued: the engine claims queued jobs when a submission wakes it, and nothing here
// submits. It returns the ids newest first.
func seedJobs(t *testing.T, ts *testServer) []string {
	t.Helper()
	var ids []string
	for i := range 30 {
		task := []string{"alpha", "beta", "gamma"}[i%3]
		owner := map[bool]string{true: "ann", false: "bob"}[i%2 == 0]
		j := store.Job{Job: api.Job{ID: fmt.Sprintf("%s-%05d", task, i), Task: task, Owner: owner,
			CreateTime: listBase.Add(time.Duration(i) * time.Hour)}}
		if _, _, err := ts.Server.store.CreateJob(t.Context(), j); err != nil {
			t.Fatalf("CreateJob: %v", err)
		}
		if st := seededStatus(i); st != api.JobQueued {
			if _, err := ts.Server.store.FinishJob(t.Context(), j.ID, store.Finish{Status: st}); err != nil {
				t.Fatalf("FinishJob(%s): %v", j.ID, err)
			}
		}
		ids = append([]string{j.ID}, ids...)
	}
	return ids
}

func seededStatus(i int) api.JobStatus {
	switch i % 5 {
	case 0:
		return api.JobSucceeded
	case 1:
		return api.JobFailed
	}
	return api.JobQueued
}

// TestJobListFilters: GET /jobs filters by task, status, owner, since and until, alone and combined; the
// Content-Range total is that of the filtered set; a caller who may read only some tasks' jobs sees only those,
// with their total; bad values answer 400 naming the parameter.
func TestJobListFilters(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ids := seedJobs(t, ts) // newest first: ids[k] is job 29-k
	reader := makePersona(t, ts, "alpha-reader", &api.Role{Resource: api.ResourceJobs,
		ResourceIDs: []string{"alpha", "gone"}, Access: api.AccessRead})
	pick := func(keep func(i int) bool) []string {
		out := []string{}
		for k, id := range ids {
			if keep(29 - k) {
				out = append(out, id)
			}
		}
		return out
	}
	at := func(h int) string { return listBase.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	isTask := func(i int, task string) bool { return []string{"alpha", "beta", "gamma"}[i%3] == task }
	tests := []struct {
		name, query string
		as          string
		want        []string
		wantRange   string
	}{
		{"all", "?limit=5", "", ids[:5], "jobs 0-4/30"},
		{"task", "?task=beta&limit=3&offset=3", "", pick(func(i int) bool { return isTask(i, "beta") })[3:6], "jobs 3-5/10"},
		{"owner", "?owner=ann", "", pick(func(i int) bool { return i%2 == 0 }), "jobs 0-14/15"},
		{"unknown owner", "?owner=carol", "", []string{}, "jobs */0"},
		{"status", "?status=failed&limit=2", "", pick(func(i int) bool { return i%5 == 1 })[:2], "jobs 0-1/6"},
		{"status none", "?status=running,cancelled", "", []string{}, "jobs */0"},
		{"status comma separated", "?status=succeeded,failed", "", pick(func(i int) bool { return i%5 <= 1 }), "jobs 0-11/12"},
		{"status repeated", "?status=succeeded&status=queued,cancelled&offset=15", "",
			pick(func(i int) bool { return i%5 != 1 })[15:], "jobs 15-23/24"},
		{"since a time", "?since=" + at(25), "", ids[:5], "jobs 0-4/5"},
		{"until a time", "?until=" + at(2), "", pick(func(i int) bool { return i < 2 }), "jobs 0-1/2"},
		{"since and until", "?since=" + at(10) + "&until=" + at(20) + "&limit=4", "", ids[10:14], "jobs 0-3/10"},
		{"since a duration", "?since=24h", "", []string{}, "jobs */0"},
		{"since days", "?since=36500d&limit=1", "", ids[:1], "jobs 0-0/30"},
		{"until a date", "?until=2020-01-02", "", ids[6:], "jobs 0-23/24"},
		{"every filter", "?task=alpha&owner=bob&status=queued,failed&since=" + at(3) + "&until=" + at(27), "",
			pick(func(i int) bool { return isTask(i, "alpha") && i%2 == 1 && i%5 != 0 && i >= 3 && i < 27 }), "jobs 0-2/3"},
		{"restricted caller", "?limit=2", reader, pick(func(i int) bool { return isTask(i, "alpha") })[:2], "jobs 0-1/10"},
		{"restricted caller, owner", "?owner=ann", reader,
			pick(func(i int) bool { return isTask(i, "alpha") && i%2 == 0 }), "jobs 0-4/5"},
		{"restricted caller, unreadable task", "?task=beta", reader, []string{}, "jobs */0"},
		{"restricted caller, since", "?since=" + at(20), reader,
			pick(func(i int) bool { return isTask(i, "alpha") && i >= 20 }), "jobs 0-2/3"},
		{"restricted caller, status", "?status=succeeded", reader,
			pick(func(i int) bool { return isTask(i, "alpha") && i%5 == 0 }), "jobs 0-1/2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := ts.do(t, req{method: "GET", path: "/api/v1/jobs" + tt.query, as: tt.as}).want(t, http.StatusOK)
			var list []api.Job
			res.decode(t, &list)
			got := []string{}
			for _, j := range list {
				got = append(got, j.ID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("GET /jobs%s (-want +got):\n%s", tt.query, diff)
			}
			if cr := res.header.Get("Content-Range"); cr != tt.wantRange {
				t.Errorf("GET /jobs%s Content-Range = %q, want %q", tt.query, cr, tt.wantRange)
			}
		})
	}

	bad := []struct{ query, param string }{
		{"?status=done", "status"},
		{"?status=queued&status=bogus", "status"},
		{"?since=yesterday", "since"},
		{"?until=-2h", "until"},
		{"?since=2020-13-01", "since"},
		{"?owner=a&owner=b", "owner"},
		{"?task=a&task=b", "task"},
		{"?limit=x", "limit"},
	}
	for _, b := range bad {
		t.Run("bad "+b.query, func(t *testing.T) {
			t.Parallel()
			e := ts.do(t, req{method: "GET", path: "/api/v1/jobs" + b.query}).want(t, http.StatusBadRequest).apiError(t)
			if !strings.Contains(e.Error, "query parameter "+b.param) {
				t.Errorf("GET /jobs%s error %q, want it to name query parameter %s", b.query, e.Error, b.param)
			}
		})
	}
}
