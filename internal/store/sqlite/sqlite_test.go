package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/secret"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/store/storetest"
)

func testCipher(t testing.TB) *secret.Cipher {
	t.Helper()
	c, err := secret.NewCipher(bytes.Repeat([]byte{0x5a}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testOptions(t testing.TB) Options {
	return Options{Cipher: testCipher(t), Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
}

// openAt opens the store at path; the test closes it itself.
func openAt(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, testOptions(t))
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openAt(t, filepath.Join(t.TempDir(), "runplane.db"))
	})
}

func TestOpenRequiresCipher(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runplane.db")
	s, err := Open(t.Context(), path, Options{})
	if err == nil {
		s.Close()
		t.Fatalf("Open without a Cipher succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "Cipher") {
		t.Errorf("Open without a Cipher: error %q does not say what is missing", err)
	}
}

func TestOpenRejectsNonFilePaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db?mode=memory"} {
		if s, err := Open(t.Context(), p, testOptions(t)); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", p)
		}
	}
}

func TestOpenOddPath(t *testing.T) {
	// Characters that mean something in a URI or a DSN must reach the file system as they are.
	dir := filepath.Join(t.TempDir(), "a dir?x=1#frag%20")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "run plane.db")
	s := openAt(t, path)
	if err := s.CreateRunner(t.Context(), api.Runner{Name: "r", GitURL: "https://x/y.git"}); err != nil {
		t.Fatalf("CreateRunner: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at %q: %v", path, err)
	}
}

func TestFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not enforced on windows")
	}
	dir := t.TempDir()
	s := openAt(t, filepath.Join(dir, "runplane.db"))
	if err := s.CreateRunner(t.Context(), api.Runner{Name: "r", GitURL: "https://x/y.git"}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("mode of %s = %04o, want 0600", e.Name(), perm)
		}
	}
	if len(entries) < 2 {
		t.Errorf("data dir holds %d files, want the database and its WAL", len(entries))
	}
}

func TestEncryptionAtRest(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "runplane.db")
	secrets := []string{"tok3n-OLD-plaintext", "tok3n-NEW-plaintext", "s3cret-value-one", "s3cret-value-two", "s3cret-value-three", "pull-s3cret-plaintext",
		"webhook-s3cret-plaintext"}
	s := openAt(t, path)
	ctx := t.Context()
	r := api.Runner{Name: "r", GitURL: "https://x/y.git", Token: secrets[0],
		Secret: map[string]string{"ONE": secrets[2], "TWO": secrets[3]}}
	if err := s.CreateRunner(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Token, r.Secret["THREE"] = secrets[1], secrets[4]
	r.ImagePullSecret = `{"auths":{"registry.example.com":{"username":"u","password":"` + secrets[5] + `"}}}`
	if err := s.UpdateRunner(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRunner(ctx, api.Runner{Name: "r2", GitURL: "https://x/z.git", Token: secrets[1]}); err != nil {
		t.Fatal(err)
	}
	// A webhook's secret is sealed too.
	owner, err := s.CreateUser(ctx, store.User{User: api.User{Username: "hooker", Provider: api.ProviderLocal}})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := s.CreateWebhook(ctx, api.Webhook{Owner: owner.ID, Task: "t", Secret: secrets[6]})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetWebhook(ctx, hook.ID); err != nil || got.Secret != secrets[6] {
		t.Errorf("GetWebhook() = %+v, %v; want its secret opened", got, err)
	}

	// While open, the data lives in the WAL as well as in the database: check every file.
	checkFiles := func(when string) {
		t.Helper()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			for _, sec := range secrets {
				if bytes.Contains(b, []byte(sec)) {
					t.Errorf("%s: file %s contains the plaintext %q", when, e.Name(), sec)
				}
			}
		}
	}
	checkFiles("while open")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkFiles("after close")

	// Plain SQL sees only sealed values, whatever it selects.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT name, image, git_url, branch, token_enc, secret_enc, pull_secret_enc FROM runners`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var seen int
	for rows.Next() {
		var cols [7][]byte
		if err := rows.Scan(&cols[0], &cols[1], &cols[2], &cols[3], &cols[4], &cols[5], &cols[6]); err != nil {
			t.Fatal(err)
		}
		seen++
		for _, c := range cols {
			for _, sec := range secrets {
				if bytes.Contains(c, []byte(sec)) {
					t.Errorf("runner %s: a column holds the plaintext %q", cols[0], sec)
				}
			}
		}
		if len(cols[4]) == 0 {
			t.Errorf("runner %s: token_enc is empty, want a sealed value", cols[0])
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if seen != 2 {
		t.Errorf("plain SQL saw %d runners, want 2", seen)
	}

	// The right key opens them again; another key does not, and says so without leaking anything.
	s = openAt(t, path)
	got, err := s.GetRunner(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, got); diff != "" {
		t.Errorf("GetRunner after reopen (-want +got):\n%s", diff)
	}
	s.Close()
	other, err := secret.NewCipher(bytes.Repeat([]byte{1}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path, Options{Cipher: other})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetRunner(ctx, "r"); !errors.Is(err, secret.ErrOpen) {
		t.Errorf("GetRunner with another key: error %v, want secret.ErrOpen", err)
	}
	if _, err := s.ListRunners(ctx); !errors.Is(err, secret.ErrOpen) {
		t.Errorf("ListRunners with another key: error %v, want secret.ErrOpen", err)
	}
}

func TestReopenPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runplane.db")
	ctx := t.Context()
	s := openAt(t, path)
	r := api.Runner{Name: "r", GitURL: "https://x/y.git", Token: "t", Secret: map[string]string{"K": "v"}}
	tk := api.Task{Name: "t", Runner: "r", Command: "true", Schema: []byte(`{"type":"object"}`)}
	u := store.User{User: api.User{ID: "2b1e4c1e-9c1a-4bde-9d6b-3f5a2a8c7e11", Username: "root", Provider: api.ProviderLocal},
		PasswordHash: "h"}
	if err := s.CreateRunner(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTask(ctx, tk); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	j, _, err := s.CreateJob(ctx, store.Job{Job: api.Job{ID: "t-aaaaa", Task: "t"}, Input: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateJob(ctx, store.Job{Job: api.Job{ID: "t-bbbbb", Task: "t"}}); err != nil {
		t.Fatal(err)
	}
	lease := store.Lease{Owner: "a", Until: j.CreateTime.Add(time.Minute)}
	claimed, err := s.ClaimJob(ctx, j.CreateTime, lease)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path)
	defer s.Close()
	if got, err := s.GetRunner(ctx, "r"); err != nil || !cmp.Equal(got, r) {
		t.Errorf("GetRunner after reopen = %+v, %v; want %+v", got, err, r)
	}
	if got, err := s.GetTask(ctx, "t"); err != nil || !cmp.Equal(got, tk) {
		t.Errorf("GetTask after reopen = %+v, %v; want %+v", got, err, tk)
	}
	if got, err := s.GetUserByName(ctx, u.Provider, u.Username); err != nil || got.ID != u.ID {
		t.Errorf("GetUserByName after reopen = %+v, %v; want id %s", got, err, u.ID)
	}
	if got, err := s.GetJob(ctx, j.ID); err != nil || !cmp.Equal(got, claimed) {
		t.Errorf("GetJob after reopen = %+v, %v; want %+v", got, err, claimed)
	}
	// The queue survives too: the next claim is the other job.
	if next, err := s.ClaimJob(ctx, j.CreateTime, lease); err != nil || next.ID != "t-bbbbb" {
		t.Errorf("ClaimJob after reopen = %q, %v; want t-bbbbb", next.ID, err)
	}
}

func TestTwoStoresClaimConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runplane.db")
	a, b := openAt(t, path), openAt(t, path)
	defer a.Close()
	defer b.Close()
	const jobs = 300
	var want []string
	for i := range jobs {
		// Alternate the store that creates, so both write.
		s := []*Store{a, b}[i%2]
		j, _, err := s.CreateJob(t.Context(), store.Job{Job: api.Job{ID: fmt.Sprintf("t-%05d", i), Task: "t"}})
		if err != nil {
			t.Fatalf("CreateJob: %v", err)
		}
		want = append(want, j.ID)
	}
	ids := storetest.ClaimConcurrently(t, 8, a, b)
	storetest.CheckClaimedOnce(t, ids, want)
}

func TestTwoStoresUpdateRunConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runplane.db")
	a, b := openAt(t, path), openAt(t, path)
	defer a.Close()
	defer b.Close()
	if _, _, err := a.CreateRun(t.Context(), storetest.NewRun("run-1")); err != nil {
		t.Fatal(err)
	}
	storetest.UpdateRunConcurrently(t, "run-1", 8, a, b)
}

func TestQueryPlansUseIndexes(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "runplane.db"))
	defer s.Close()
	plans := map[string]string{
		"claim":              claimJob,
		"expired":            expiredJob,
		"renew":              renewLeases,
		"list":               `SELECT id FROM jobs ORDER BY create_time DESC, id DESC LIMIT 10`,
		"count":              `SELECT count(*) FROM jobs WHERE status = 'running'`,
		"key":                `SELECT id FROM jobs WHERE owner_id = 'a' AND idempotency_key = 'k' AND idempotency_key != ''`,
		"queued":             countQueuedOf,
		"audit":              `SELECT id FROM audit_logs ORDER BY create_time DESC, id DESC LIMIT 10`,
		"tokens":             `SELECT id FROM api_tokens WHERE owner = 'a' ORDER BY create_time, id`,
		"running runs":       `SELECT id FROM runs WHERE status = 'running' ORDER BY create_time DESC, id DESC LIMIT 10`,
		"runs of a workflow": `SELECT id FROM runs WHERE workflow = 'w' ORDER BY create_time DESC, id DESC LIMIT 10`,
		"runs of an owner":   `SELECT id FROM runs WHERE owner = 'a' ORDER BY create_time DESC, id DESC LIMIT 10`,
		"run key":            lookupRunKey,
		"update run":         updateRun,
		"jobs of a run":      `SELECT id FROM jobs WHERE run = 'r' AND run != '' ORDER BY create_time DESC, id DESC LIMIT 10`,
	}
	for name, q := range plans {
		plan := explain(t.Context(), t, s.r, q)
		if !strings.Contains(plan, "INDEX") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s: query plan %q: want an index and no sort", name, plan)
		}
	}
	// These read an index without scanning the table, and sort only what it found: the live runs (the advancer's
	// recovery lists them) are few whatever the number of finished ones.
	searches := map[string]string{
		"live runs": `SELECT id FROM runs WHERE status IN ('queued', 'running')
			ORDER BY create_time DESC, id DESC LIMIT 10`,
		"run values": `SELECT name FROM run_values WHERE run = 'r' ORDER BY step, kind, name`,
	}
	for name, q := range searches {
		plan := explain(t.Context(), t, s.r, q)
		if !strings.HasPrefix(plan, "SEARCH") || strings.Contains(plan, "SCAN") {
			t.Errorf("%s: query plan %q: want a search, no scan", name, plan)
		}
	}
	// ListJobs's task filters, as it words them, search the partial index jobs_by_task (it holds only the jobs
	// that have a task: a step's job is not written to it), not the table nor the index of every job by time.
	byTask := map[string]string{
		"jobs of a task": `SELECT id FROM jobs WHERE task = ? AND task != '' ORDER BY create_time DESC, id DESC LIMIT 10`,
		"jobs of tasks": `SELECT id FROM jobs WHERE task IN (SELECT value FROM json_each(?)) AND task != ''
			ORDER BY create_time DESC, id DESC LIMIT 10`,
	}
	for name, q := range byTask {
		if plan := explain(t.Context(), t, s.r, q); !strings.HasPrefix(plan, "SEARCH jobs USING COVERING INDEX jobs_by_task") {
			t.Errorf("%s: query plan %q: want a search of jobs_by_task", name, plan)
		}
	}
}

func explain(ctx context.Context, t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	// The plan does not depend on the values; the driver wants one for each parameter all the same.
	rows, err := db.QueryContext(ctx, `EXPLAIN QUERY PLAN `+q, make([]any, strings.Count(q, "?"))...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, detail)
	}
	return strings.Join(parts, "; ")
}
