package controller_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor/podman/podmantest"
	"github.com/runplane/runplane/internal/platform/controller"
	"github.com/runplane/runplane/internal/platform/kratix"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/store"
)

// BenchmarkRequestVsJob measures, in the same run, a request of a one-pipeline promise from its creation to its
// files written (committed and pushed, for git) and its status Completed, against the same pipeline run as a
// plain run of one job (started and awaited), alternately. It reports both means and their ratio (issue 15's
// target: at most 1.3). The pipeline runs as the embedded mode runs Kratix's pipelines, in a podman container
// (podman-*), and as a local process (process-*, with no sandbox: the smallest job there is, where the
// controller's own work weighs the most).
func BenchmarkRequestVsJob(b *testing.B) {
	for _, tc := range []struct {
		name        string
		git, podman bool
	}{{"process-directory", false, false}, {"process-git", true, false}, {"podman-directory", false, true}, {"podman-git", true, true}} {
		b.Run(tc.name, func(b *testing.B) {
			e, image := newEnv(b, tc.git), "alpine"
			if tc.podman {
				e, image = newPodmanEnv(b, tc.git), podmantest.Image
			}
			// The request's end is seen as the controller writes it (as the plain run's is, by Await), not by
			// polling the store, which would cost the controller CPU on this one core.
			writes := make(chan written, 1024)
			e.wrap = func(st controller.Store) controller.Store { return notifying{st, writes} }
			c, _ := e.controller(b, controller.Options{Workers: 1})
			render := e.pipeline("render", `mkdir -p "$RUNPLANE_OUTPUT_DIR/app"
printf 'kind: Deployment\nname: %s\n' "$KRATIX_OBJECT_NAME" > "$RUNPLANE_OUTPUT_DIR/app/deployment.yaml"`)
			render.Spec.Containers[0].Image = image
			p := e.promise(b, api.PromiseWorkflows{Resource: api.WorkflowActions{Configure: []api.Pipeline{render}}})
			var job, req time.Duration
			for i := 0; b.Loop(); i++ {
				// The plain job: the same pipeline's workflow, built as the controller builds it.
				name := "bench-" + string(rune('a'+i%26)) + "-" + time.Now().Format("150405.000000")
				name = sanitize(name)
				t := kratix.ResourceTarget("cache", kratix.ActionConfigure, "marketplace.example.com/v1alpha1", "Cache", "caches", name, "team-a", false)
				w, err := kratix.BuildPipeline(kratix.Input{Target: t, Object: map[string]any{"apiVersion": "marketplace.example.com/v1alpha1",
					"kind": "Cache", "metadata": map[string]any{"name": name, "namespace": "team-a"}, "spec": map[string]any{}},
					Pipelines: []api.Pipeline{render}}, 0)
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				run, _, err := e.runs.Start(b.Context(), runs.Request{Workflow: w.Name, Definition: &w, Owner: "bench", OwnerID: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				if run, err = e.runs.Await(b.Context(), run.ID, time.Minute); err != nil || run.Status != api.RunSucceeded {
					b.Fatalf("plain run: %s %v", run.Status, err)
				}
				job += time.Since(start)

				start = time.Now()
				e.request(b, c, p, name, `{}`, nil)
				awaitStatus(b, writes, name, completed)
				req += time.Since(start)
			}
			n := float64(b.N)
			b.ReportMetric(float64(job.Milliseconds())/n, "job-ms")
			b.ReportMetric(float64(req.Milliseconds())/n, "request-ms")
			b.ReportMetric(float64(req)/float64(job), "ratio")
		})
	}
}

// sanitize makes s a request name: lower case letters, digits and '-'.
func sanitize(s string) string {
	out := []byte(s)
	for i, c := range out {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			out[i] = '-'
		}
	}
	return string(out)
}

// written is a request's status as the controller stored it.
type written struct {
	name   string
	status json.RawMessage
}

// notifying is a store that tells of every request status it stored.
type notifying struct {
	controller.Store
	writes chan<- written
}

func (n notifying) SetResourceRequestStatus(ctx context.Context, promise, namespace, name string, version int64, status json.RawMessage) (store.ResourceRequest, error) {
	r, err := n.Store.SetResourceRequestStatus(ctx, promise, namespace, name, version, status)
	if err == nil {
		n.writes <- written{name, status}
	}
	return r, err
}

// awaitStatus waits until the controller stored a status of request name for which cond holds.
func awaitStatus(b *testing.B, writes <-chan written, name string, cond func(map[string]any) bool) {
	b.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case w := <-writes:
			var st map[string]any
			if err := json.Unmarshal(w.status, &st); err != nil {
				b.Fatal(err)
			}
			if w.name == name && cond(st) {
				return
			}
		case <-timeout:
			b.Fatalf("request %s: not completed within a minute", name)
		}
	}
}
