package ui_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/server/servertest"
)

// fetch answers the status, Location and body of method path (with a body, sent as JSON from origin).
func fetch(t *testing.T, hc *http.Client, method, url, origin, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func helloJob(t *testing.T, f fixture) api.Job {
	t.Helper()
	j, finished, err := f.c.Submit(t.Context(), "hello", []byte(`{"who":"ui"}`), client.SubmitOptions{})
	if err != nil || !finished || j.Status != api.JobSucceeded {
		t.Fatalf("Submit(hello) = %+v, finished %v, %v; want a succeeded job", j, finished, err)
	}
	return j
}

type pageCase struct {
	name, path string
	status     int
	location   string
	want, not  []string
}

func checkPages(t *testing.T, f fixture, hc *http.Client, cases []pageCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, loc, body := fetch(t, hc, "GET", f.url+tc.path, "", "")
			if status != tc.status || loc != tc.location {
				t.Fatalf("GET %s = %d %q, want %d %q\n%s", tc.path, status, loc, tc.status, tc.location, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s: no %q in\n%s", tc.path, w, body)
				}
			}
			for _, n := range append(tc.not, "runner-token-never-shown", viewerPassword) {
				if strings.Contains(body, n) {
					t.Errorf("GET %s: %q rendered", tc.path, n)
				}
			}
		})
	}
}

// TestPages reads every page as root without JavaScript: each is rendered on the server from the API's answers.
func TestPages(t *testing.T) {
	f := setup(t)
	j := helloJob(t, f)
	root := f.browser(t, "root", servertest.RootPassword)
	checkPages(t, f, root, []pageCase{
		{name: "home goes to tasks", path: "/", status: 303, location: "/tasks"},
		{name: "catalog grouped by runner", path: "/tasks", status: 200,
			want: []string{"Runner scripts", `href="/tasks/greet"`, `href="/tasks/slow"`, `href="/tasks/hello"`, "Sign out"}},
		{name: "catalog search", path: "/tasks?q=gre", status: 200, want: []string{`href="/tasks/greet"`}, not: []string{`href="/tasks/slow"`}},
		{name: "catalog search without match", path: "/tasks?q=zzz", status: 200, want: []string{"No task you may run matches"}},
		{name: "task page has the form", path: "/tasks/greet", status: 200,
			want: []string{`id="run"`, "data-schema=", "who to greet", "synchronously"}},
		{name: "unknown task in words", path: "/tasks/nope", status: 404, want: []string{"The server answered 404", "not found"}},
		{name: "job list", path: "/jobs", status: 200, want: []string{`href="/jobs/` + j.ID + `"`, "1 job(s)"}},
		{name: "job list filtered", path: "/jobs?task=slow&status=running", status: 200, want: []string{"No job matches", `<option selected>running</option>`}},
		{name: "job list in a time range", path: "/jobs?since=1h&until=2099-01-01", status: 200, want: []string{`href="/jobs/` + j.ID + `"`, `value="1h"`}},
		{name: "job list before the job", path: "/jobs?until=2000-01-01", status: 200, want: []string{"No job matches"}},
		{name: "job list bad time in words", path: "/jobs?since=yesterday", status: 400, want: []string{"The server answered 400", "since"}},
		{name: "job list bad filter in words", path: "/jobs?status=bogus", status: 400, want: []string{"The server answered 400"}},
		{name: "job page", path: "/jobs/" + j.ID, status: 200,
			want: []string{"succeeded", "hello from hello", `&#34;greeting&#34;: &#34;hello&#34;`, `&#34;who&#34;: &#34;ui&#34;`, `id="rerun"`, "Download"},
			not:  []string{`id="cancel"`}},
		{name: "unknown job in words", path: "/jobs/nope-abcde", status: 404, want: []string{"The server answered 404"}},
		{name: "sign-in page", path: "/login?next=/jobs", status: 200, want: []string{`data-next="/jobs"`, `value="active_directory"`}},
		{name: "sign-in page refuses an outside next", path: "/login?next=//evil.example/", status: 200, want: []string{`data-next="/tasks"`}},
	})
}

// TestViewer: a user who may read tasks and jobs but run none sees no run form, no cancel or rerun button, an
// empty catalog, and the API refuses a run sent anyway.
func TestViewer(t *testing.T) {
	f := setup(t)
	j := helloJob(t, f)
	viewer := f.browser(t, "viewer", viewerPassword)
	checkPages(t, f, viewer, []pageCase{
		{name: "catalog lists only runnable tasks", path: "/tasks", status: 200, want: []string{"There is no task you may run."}, not: []string{`href="/tasks/greet"`}},
		{name: "task page without the form", path: "/tasks/greet", status: 200, want: []string{"may read this task but not run it"}, not: []string{`id="run"`}},
		{name: "job page without buttons", path: "/jobs/" + j.ID, status: 200, want: []string{"succeeded"}, not: []string{`id="rerun"`, `id="cancel"`}},
	})
	for _, path := range []string{"/api/v1/tasks/greet/run", "/api/v1/jobs/" + j.ID + "/rerun"} {
		if status, _, body := fetch(t, viewer, "POST", f.url+path, f.url, `{"name":"x"}`); status != http.StatusForbidden {
			t.Errorf("viewer POST %s = %d %s, want 403", path, status, body)
		}
	}
}

// TestRunnableTasks: GET /api/v1/tasks?runnable=true keeps the tasks the caller may run.
func TestRunnableTasks(t *testing.T) {
	f := setup(t)
	root, viewer := f.browser(t, "root", servertest.RootPassword), f.browser(t, "viewer", viewerPassword)
	tests := []struct {
		name   string
		hc     *http.Client
		query  string
		status int
		count  int
	}{
		{"root, all", root, "", 200, 3},
		{"root, runnable", root, "?runnable=true", 200, 3},
		{"viewer, all", viewer, "", 200, 3},
		{"viewer, runnable", viewer, "?runnable=true", 200, 0},
		{"viewer, not runnable", viewer, "?runnable=false", 200, 3},
		{"bad value", viewer, "?runnable=maybe", 400, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := fetch(t, tt.hc, "GET", f.url+"/api/v1/tasks"+tt.query, "", "")
			if status != tt.status {
				t.Fatalf("GET /api/v1/tasks%s = %d %s, want %d", tt.query, status, body, tt.status)
			}
			if n := strings.Count(body, `"runner":`); tt.count >= 0 && n != tt.count {
				t.Errorf("GET /api/v1/tasks%s lists %d tasks, want %d: %s", tt.query, n, tt.count, body)
			}
		})
	}
}

// TestSignedOut: pages send a caller without a session to sign in, with the page to come back to; the API keeps
// answering in JSON, unknown paths included; a state-changing call the cookie authenticates from another site is
// refused (the UI's CSRF protection is the API's origin check).
func TestSignedOut(t *testing.T) {
	f := setup(t)
	anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	checkPages(t, f, anon, []pageCase{
		{name: "job page", path: "/jobs/x-abcde?a=1", status: 303, location: "/login?next=" + url.QueryEscape("/jobs/x-abcde?a=1")},
		{name: "catalog", path: "/tasks", status: 303, location: "/login?next=%2Ftasks"},
		{name: "sign-in page", path: "/login", status: 200, want: []string{"Sign in"}, not: []string{"Sign out"}},
		{name: "api unknown path", path: "/api/v1/nope", status: 404, want: []string{`{"error":"not found"}`}},
		{name: "unknown path", path: "/nope", status: 404, want: []string{`{"error":"not found"}`}},
		{name: "api needs credentials", path: "/api/v1/jobs", status: 401, want: []string{`"error"`}},
		{name: "asset", path: "/assets/app.js", status: 200, want: []string{"use strict"}},
	})
	// A session the server no longer accepts (expired, ended, forged) goes to sign-in the same way.
	stale, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse(f.url)
	stale.SetCookies(base, []*http.Cookie{{Name: "token", Value: "expired.session.token", Path: "/"}})
	anon.Jar = stale
	if status, loc, _ := fetch(t, anon, "GET", f.url+"/jobs?task=hello", "", ""); status != 303 || loc != "/login?next="+url.QueryEscape("/jobs?task=hello") {
		t.Errorf("GET /jobs with a stale session = %d %q, want 303 to sign-in and back", status, loc)
	}
	root := f.browser(t, "root", servertest.RootPassword)
	if status, _, body := fetch(t, root, "POST", f.url+"/api/v1/tasks/hello/run", "http://evil.example", `{}`); status != http.StatusForbidden {
		t.Errorf("cross-site POST run with the session cookie = %d %s, want 403", status, body)
	}
	if status, _, _ := fetch(t, root, "POST", f.url+"/api/v1/logout", f.url, ""); status != http.StatusOK {
		t.Fatalf("logout = %d", status)
	}
	if status, loc, _ := fetch(t, root, "GET", f.url+"/jobs", "", ""); status != 303 || loc != "/login?next=%2Fjobs" {
		t.Errorf("GET /jobs after sign-out = %d %q, want 303 to sign-in", status, loc)
	}
}

var assetRef = regexp.MustCompile(`(?:href|src)="(/assets/[^"]+)"`)

// firstLoad is what a browser downloads to show path the first time: the page and the assets it names, each
// gzip-compressed as a server or proxy would send it.
func firstLoad(t *testing.T, f fixture, hc *http.Client, path string) int {
	t.Helper()
	status, _, page := fetch(t, hc, "GET", f.url+path, "", "")
	if status != http.StatusOK {
		t.Fatalf("GET %s = %d", path, status)
	}
	total := gzipSize(t, page)
	for _, m := range assetRef.FindAllStringSubmatch(page, -1) {
		status, _, body := fetch(t, hc, "GET", f.url+m[1], "", "")
		if status != http.StatusOK {
			t.Fatalf("GET %s = %d", m[1], status)
		}
		total += gzipSize(t, body)
	}
	return total
}

func gzipSize(t *testing.T, s string) int {
	var b bytes.Buffer
	w, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Len()
}

// TestFirstLoadSize: the first load of every page is at most 200 KB compressed.
func TestFirstLoadSize(t *testing.T) {
	const limit = 200 << 10
	f := setup(t)
	j := helloJob(t, f)
	root := f.browser(t, "root", servertest.RootPassword)
	g := newGate(t)
	g.open.Store(true)
	withWorkflow(t, f, g)
	withPromise(t, f)
	status, _, body := fetch(t, root, "POST", f.url+"/api/v1/workflows/deploy/runs", f.url, `{"who":"size"}`)
	if status != http.StatusOK {
		t.Fatalf("start run = %d %s", status, body)
	}
	var run api.RunCreated
	if err := json.Unmarshal([]byte(body), &run); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/login", "/tasks", "/tasks/greet", "/jobs", "/jobs/" + j.ID,
		"/workflows", "/workflows/deploy", "/runs", "/runs/" + run.ID,
		"/promises", "/promises/cache", "/account/tokens", "/admin", "/admin/runners", "/admin/runners/scripts",
		"/admin/tasks/greet", "/admin/workflows/deploy", "/admin/users", "/admin/audit_logs"} {
		n := firstLoad(t, f, root, path)
		t.Logf("first load of %s: %d bytes compressed", path, n)
		if n > limit {
			t.Errorf("first load of %s = %d bytes compressed, want at most %d", path, n, limit)
		}
	}
}
