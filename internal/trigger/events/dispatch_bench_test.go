package events_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/trigger/events"
)

// BenchmarkDispatch is the dispatcher's share of an event in BenchmarkEventsDispatch (test/e2e), alone: 100 rule
// sets loaded, each matching one event type with a one-task action; per op, one event accepted (stored) and
// dispatched — matched against the 100, its run and job created (queued; nothing runs them), marked dispatched.
// Events are accepted and dispatched 100 at a time, as a busy server sees them.
func BenchmarkDispatch(b *testing.B) {
	e := newEnv(b)
	ctx := b.Context()
	role, err := e.st.CreateRole(ctx, api.Role{Name: "run-all", Resource: api.ResourceRuns, ResourceIDs: []string{"*"}, Access: api.AccessWrite})
	must(b, err)
	g, err := e.st.CreateGroup(ctx, api.Group{Name: "all", Provider: api.ProviderLocal, UserIDs: []string{e.ops.ID}})
	must(b, err)
	_, err = e.st.CreateRoleBinding(ctx, api.RoleBinding{Name: "run-all", RoleID: role.ID, GroupID: g.ID})
	must(b, err)
	for i := range 100 {
		r := api.EventRules{Name: fmt.Sprintf("rules-%03d", i), Owner: "ops", APIVersion: "v2", Actions: []api.KeptnAction{{
			Name:   "run",
			Events: []api.KeptnEvent{{Name: fmt.Sprintf(`^dev\.bench\.t%03d$`, i)}},
			Tasks:  []api.KeptnTask{{Name: "true", Image: "alpine", Cmd: []string{"true"}}},
		}}}
		if _, err := e.st.CreateEventRules(ctx, store.EventRuleSet{EventRules: r, OwnerID: e.ops.ID}); err != nil {
			b.Fatal(err)
		}
	}
	d := events.NewDispatcher(e.st, e.firer, events.Options{})
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for n := 0; n < b.N; n += 100 {
		batch := make([]api.Event, 0, 100)
		for i := n; i < min(n+100, b.N); i++ {
			batch = append(batch, api.Event{ID: fmt.Sprintf("e%d", i), Source: "bench", SpecVersion: "1.0",
				Type: fmt.Sprintf("dev.bench.t%03d", i%100), DataContentType: "application/json", Data: []byte(`{"n":1}`)})
		}
		for _, ev := range batch {
			if _, err := d.Accept(ctx, []api.Event{ev}); err != nil {
				b.Fatal(err)
			}
		}
		if err := d.Dispatch(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
	_, total, err := e.st.ListRuns(ctx, store.RunFilter{})
	if err != nil {
		b.Fatal(err)
	}
	if total != b.N {
		b.Fatalf("%d runs for %d events", total, b.N)
	}
}

// cpuTime is the CPU time this process has used: the measure that holds on a busy machine, where wall time
// swings with everyone else's load.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
