package kube_test

import (
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/executor/kubeexec/kubetest"
	"github.com/runplane/runplane/internal/server"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestReplicas: two servers on one PostgreSQL database run Kubernetes Jobs. When the one running a job stops, the
// job runs on; the other takes it over (the stopping server released its lease) and records how it ended, with its
// whole log.
func TestReplicas(t *testing.T) {
	e := needCluster(t)
	ns := e.Namespace(t)
	dsn, keys := pgtest.NewDatabase(t), t.TempDir()
	shared := func(c *server.Config) { c.Store, c.KeysDir, c.LeaseTTL = dsn, keys, 3*time.Second }
	servers := []*testServer{e.newServer(t, ns, shared), e.newServer(t, ns, shared)}
	clients := []*client.Client{servers[0].client(t), servers[1].client(t)}
	e.runner(t, clients[0], e.Busybox)
	e.task(t, clients[0], api.Task{Name: "long", Command: "echo before; sleep 6; echo after; echo '^JSON {\"n\":1} ^JSON'"})
	j, _, err := clients[0].Submit(t.Context(), "long", nil, client.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Either replica may have claimed it; the one running it serves its live log.
	running := -1
	kubetest.WaitFor(t, 2*time.Minute, "a replica to run the job", func() bool {
		for i, c := range clients {
			if strings.Contains(readLog(t, c, j.ID), "before") {
				running = i
				return true
			}
		}
		return false
	})
	servers[running].stop()
	other := clients[1-running]
	j = waitJob(t, other, j.ID, 2*time.Minute)
	if j.Status != api.JobSucceeded || string(j.JSONData) != `{"n":1}` {
		t.Errorf("job taken over by the other replica: %s (%q), json_data %s; want succeeded with its result", j.Status, j.Reason, j.JSONData)
	}
	if log := readLog(t, other, j.ID); !strings.HasPrefix(log, "before\nafter\n") {
		t.Errorf("log of the job taken over: %q; want all of it", log)
	}
}
