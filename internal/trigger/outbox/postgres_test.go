package outbox_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/secret"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/store/postgres"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
	"github.com/runplane/runplane/internal/trigger/outbox"
)

func openPostgres(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	key, err := secret.LoadOrCreateKey(t.TempDir() + "/secret.key")
	if err != nil {
		t.Fatal(err)
	}
	c, err := secret.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := postgres.Open(t.Context(), dsn, postgres.Options{Cipher: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestPostgresReplicas: three replicas on one PostgreSQL database deliver every job event, each once, and a
// job's events are written by the database in the job's own transactions.
func TestPostgresReplicas(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	r := newReceiver(t, nil)
	var stores []*postgres.Store
	for i := range 3 {
		st := openPostgres(t, dsn)
		stores = append(stores, st)
		if i == 0 {
			if err := st.CreateEventSink(t.Context(), api.EventSink{Name: "s", URL: r.srv.URL}); err != nil {
				t.Fatal(err)
			}
		}
		opts := fastOptions(nil)
		opts.ServerID = fmt.Sprint("replica-", i)
		opts.Batch = 2
		runOutbox(t, outbox.New(st, opts))
	}
	var want []string
	for i := range 15 {
		id := fmt.Sprintf("job-%02d", i)
		st := stores[i%len(stores)]
		if _, _, err := st.CreateJob(t.Context(), store.Job{Job: api.Job{ID: id, Owner: "ann", Task: "t"}}); err != nil {
			t.Fatal(err)
		}
		j, err := st.ClaimJob(t.Context(), time.Now(), store.Lease{Owner: "x", Until: time.Now().Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.FinishJob(t.Context(), j.ID, store.Finish{Status: api.JobFailed}); err != nil {
			t.Fatal(err)
		}
		want = append(want, "job/"+j.ID+"/started", "job/"+j.ID+"/failed")
	}
	slices.Sort(want)
	waitFor(t, "every event", func() bool { return len(r.events()) >= len(want) })
	waitFor(t, "an empty backlog", func() bool {
		due, pending, err := stores[0].EventBacklog(t.Context())
		return err == nil && len(due) == 0 && pending == 0
	})
	got := r.ids()
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events delivered (-want +got):\n%s", diff)
	}
}
