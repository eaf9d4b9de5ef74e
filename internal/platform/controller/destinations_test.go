package controller_test

import (
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/httpapi"
	"github.com/runplane/runplane/internal/platform/controller"
	"github.com/runplane/runplane/internal/platform/schedule"
)

// Output that matched no destination is placed as soon as a destination that matches it is created, from the job
// that made it (the pipeline does not run again), and the status says where it went.
func TestOutputPlacedWhenDestinationAppears(t *testing.T) {
	e := newEnv(t, false)
	c, _ := e.controller(t, controller.Options{})
	render := e.pipeline("render", `echo run >> "$TESTDIR/render.runs"
mkdir -p "$RUNPLANE_OUTPUT_DIR/app"
echo "name: $KRATIX_OBJECT_NAME" > "$RUNPLANE_OUTPUT_DIR/app/deployment.yaml"
printf -- '- matchLabels: {region: eu}\n' > "$RUNPLANE_METADATA_DIR/destination-selectors.yaml"`)
	p := e.promise(t, api.PromiseWorkflows{Resource: api.WorkflowActions{Configure: []api.Pipeline{render}}})
	e.request(t, c, p, "cache-eu", `{}`, nil)
	st := e.waitFor(t, "cache-eu", "configure completes", completed)
	if outs := outputsOf(st); len(outs) != 1 || outs[0].Destination != "" || !strings.Contains(outs[0].Message, "no destination matches") {
		t.Fatalf("outputs = %+v, want one group that matched no destination", outs)
	}

	eu := api.Destination{Name: "eu", Labels: map[string]string{"environment": "dev", "region": "eu"},
		StateStoreRef: api.StateStoreRef{Kind: api.KindDirectoryStateStore, Name: "local"}}
	eu.Default()
	if err := e.st.CreateDestination(t.Context(), eu); err != nil {
		t.Fatal(err)
	}
	if err := c.ReconcileDestination(t.Context(), httpapi.ChangeCreated, eu); err != nil {
		t.Fatal(err)
	}
	st = e.waitFor(t, "cache-eu", "its output is placed at eu", func(st map[string]any) bool {
		outs := outputsOf(st)
		return len(outs) == 1 && outs[0].Destination == "eu"
	})
	path := "eu/resources/team-a/cache/cache-eu/render/" + schedule.ShortID(schedule.GroupID(".")) + "/app/deployment.yaml"
	if got := e.files_(t)[path]; got != "name: cache-eu\n" {
		t.Errorf("%s = %q, want the pipeline's output", path, got)
	}
	if outs := outputsOf(st); outs[0].Message != "" || len(outs[0].Files) != 1 || outs[0].Files[0] != path {
		t.Errorf("outputs = %+v, want the file at eu and no message", outs)
	}
	if n := e.count("render.runs"); n != 1 {
		t.Errorf("render ran %d times, want once (the output is placed from its job)", n)
	}
}

// Deleting a destination with cleanup all removes the files written to it (cleanup none leaves them); either
// way the request's status no longer says its output is there.
func TestDestinationCleanup(t *testing.T) {
	for _, tc := range []struct {
		name    string
		git     bool
		cleanup string
	}{
		{"directory all", false, api.CleanupAll},
		{"git all", true, api.CleanupAll},
		{"directory none", false, api.CleanupNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.git)
			c, _ := e.controller(t, controller.Options{})
			render := e.pipeline("render", `mkdir -p "$RUNPLANE_OUTPUT_DIR/app"
echo "name: $KRATIX_OBJECT_NAME" > "$RUNPLANE_OUTPUT_DIR/app/deployment.yaml"`)
			p := e.promise(t, api.PromiseWorkflows{Resource: api.WorkflowActions{Configure: []api.Pipeline{render}}})
			for _, n := range []string{"a", "b"} {
				e.request(t, c, p, n, `{}`, nil)
			}
			for _, n := range []string{"a", "b"} {
				e.waitFor(t, n, "configure completes", completed)
			}
			if files := e.files_(t); len(files) != 2 {
				t.Fatalf("state store holds %v, want a's and b's files", keys(files))
			}
			dev, err := e.st.GetDestination(t.Context(), "dev")
			if err != nil {
				t.Fatal(err)
			}
			dev.Cleanup = tc.cleanup
			if err := e.st.UpdateDestination(t.Context(), dev); err != nil {
				t.Fatal(err)
			}
			if err := c.ReconcileDestination(t.Context(), httpapi.ChangeDeleting, dev); err != nil {
				t.Fatalf("deleting: %v", err)
			}
			if err := e.st.DeleteDestination(t.Context(), "dev"); err != nil {
				t.Fatal(err)
			}
			if err := c.ReconcileDestination(t.Context(), httpapi.ChangeDeleted, dev); err != nil {
				t.Fatal(err)
			}
			files := e.files_(t)
			if want := map[string]int{api.CleanupAll: 0, api.CleanupNone: 2}[tc.cleanup]; len(files) != want {
				t.Errorf("after deleting dev (cleanup %s) the state store holds %v, want %d files", tc.cleanup, keys(files), want)
			}
			for _, n := range []string{"a", "b"} {
				e.waitFor(t, n, "its output is no longer at dev", func(st map[string]any) bool {
					outs := outputsOf(st)
					return len(outs) == 1 && outs[0].Destination == "" && outs[0].Message != ""
				})
			}
		})
	}
}

// A promise's own output goes to every matching destination: one created later gets it too, from the job that
// made it.
func TestPromiseOutputToNewDestination(t *testing.T) {
	e := newEnv(t, false)
	c, _ := e.controller(t, controller.Options{})
	w := api.PromiseWorkflows{Promise: api.WorkflowActions{Configure: []api.Pipeline{e.pipeline("operator",
		`echo run >> "$TESTDIR/operator.runs"
echo 'kind: Operator' > "$RUNPLANE_OUTPUT_DIR/operator.yaml"`)}}}
	p := e.promise(t, w)
	if err := c.ReconcilePromise(t.Context(), httpapi.ChangeCreated, p); err != nil {
		t.Fatal(err)
	}
	st := e.waitPromise(t, "cache", "configure completes", completed)
	if outs := outputsOf(st); len(outs) != 1 || outs[0].Destination != "dev" {
		t.Fatalf("promise outputs = %+v, want operator.yaml at dev alone", outs)
	}
	dev2 := api.Destination{Name: "dev2", Labels: map[string]string{"environment": "dev"},
		StateStoreRef: api.StateStoreRef{Kind: api.KindDirectoryStateStore, Name: "local"}}
	dev2.Default()
	if err := e.st.CreateDestination(t.Context(), dev2); err != nil {
		t.Fatal(err)
	}
	if err := c.ReconcileDestination(t.Context(), httpapi.ChangeCreated, dev2); err != nil {
		t.Fatal(err)
	}
	e.waitPromise(t, "cache", "its output is at dev and dev2", func(st map[string]any) bool {
		var at []string
		for _, o := range outputsOf(st) {
			at = append(at, o.Destination)
		}
		return strings.Join(at, ",") == "dev,dev2"
	})
	path := "dev2/dependencies/cache/operator/" + schedule.ShortID(schedule.GroupID(".")) + "/operator.yaml"
	if got := e.files_(t)[path]; got != "kind: Operator\n" {
		t.Errorf("%s = %q, want the promise's output", path, got)
	}
	if n := e.count("operator.runs"); n != 1 {
		t.Errorf("the promise's pipeline ran %d times, want once", n)
	}
}
