package controller_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/httpapi"
	"github.com/runplane/runplane/internal/platform/controller"
	"github.com/runplane/runplane/internal/platform/kratix"
	"github.com/runplane/runplane/internal/platform/schedule"
)

// The configure pipelines of the promise cache: render writes a deployment from the request's spec and status.yaml;
// notify reads what render set in the status (object.yaml is read afresh before each pipeline) and sets a condition.
const renderScript = `echo "$KRATIX_OBJECT_NAME" >> "$TESTDIR/render.runs"
size=$(sed -n 's/^  size: //p' "$RUNPLANE_INPUT_DIR/object.yaml")
mkdir -p "$RUNPLANE_OUTPUT_DIR/app"
printf 'kind: Deployment\nname: %s\nsize: %s\n' "$KRATIX_OBJECT_NAME" "$size" > "$RUNPLANE_OUTPUT_DIR/app/deployment.yaml"
printf 'endpoint: %s.team-a:6379\nconditions:\n- {type: Ready, status: "False", reason: Provisioning}\n' "$KRATIX_OBJECT_NAME" > "$RUNPLANE_METADATA_DIR/status.yaml"
`

const notifyScript = `echo "$KRATIX_OBJECT_NAME" >> "$TESTDIR/notify.runs"
grep -q "^  endpoint: $KRATIX_OBJECT_NAME.team-a:6379" "$RUNPLANE_INPUT_DIR/object.yaml"
printf 'conditions:\n- {type: Ready, status: "True", reason: Provisioned}\n' > "$RUNPLANE_METADATA_DIR/status.yaml"
`

const deleteScript = `test "$KRATIX_WORKFLOW_ACTION" = delete
echo "$KRATIX_OBJECT_NAME" >> "$TESTDIR/delete.runs"
`

func (e *env) cacheWorkflows() api.PromiseWorkflows {
	return api.PromiseWorkflows{Resource: api.WorkflowActions{
		Configure: []api.Pipeline{e.pipeline("render", renderScript), e.pipeline("notify", notifyScript)},
		Delete:    []api.Pipeline{e.pipeline("teardown", deleteScript)},
	}}
}

// A request runs its configure pipelines in order, its status merged from each; its output is written at Kratix's
// path in the one destination the promise's selectors pick, and the status says where; an update runs them again
// and rewrites the files; a delete runs the delete pipeline, removes the files, then the request. Both kinds of
// state store.
func TestRequestLifecycle(t *testing.T) {
	for _, tc := range []struct {
		name string
		git  bool
	}{{"directory", false}, {"git", true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.git)
			c, _ := e.controller(t, controller.Options{})
			p := e.promise(t, e.cacheWorkflows())
			e.request(t, c, p, "team-a-cache", `{"size":"small"}`, nil)

			st := e.waitFor(t, "team-a-cache", "configure completes", completed)
			if st["message"] != kratix.MessageResourceRequested || st["endpoint"] != "team-a-cache.team-a:6379" {
				t.Errorf("message %v, endpoint %v; want %q and render's endpoint", st["message"], st["endpoint"], kratix.MessageResourceRequested)
			}
			if s, r, _ := condition(st, "Ready"); s != "True" || r != "Provisioned" {
				t.Errorf("Ready = %s (%s), want True from notify's status.yaml", s, r)
			}
			ps, _ := kratix.Pipelines(st)
			if len(ps) != 2 || ps[0].Phase != kratix.PhaseSucceeded || ps[1].Phase != kratix.PhaseSucceeded {
				t.Errorf("pipelines = %+v, want render and notify Succeeded", ps)
			}
			path := "dev/resources/team-a/cache/team-a-cache/render/" + schedule.ShortID(schedule.GroupID(".")) + "/app/deployment.yaml"
			files := e.files_(t)
			if got := files[path]; got != "kind: Deployment\nname: team-a-cache\nsize: small\n" {
				t.Errorf("state store %s = %q; files %v", path, got, keys(files))
			}
			if len(files) != 1 {
				t.Errorf("state store holds %v, want %s alone", keys(files), path)
			}
			outs := outputsOf(st)
			if len(outs) != 1 || outs[0].Destination != "dev" || outs[0].StateStore != "local" || outs[0].Pipeline != "render" ||
				len(outs[0].Files) != 1 || outs[0].Files[0] != path || (tc.git && len(outs[0].Version) != 40) {
				t.Errorf("status.kratix.outputs = %+v, want render's file at dev in local (with its commit for git)", outs)
			}

			// An update of the spec runs the workflow again, over the new spec.
			r, _, _ := e.get(t, "team-a-cache")
			r.Spec = []byte(`{"size":"large"}`)
			r2, err := e.st.UpdateResourceRequest(t.Context(), "cache", r.ResourceRequest, r.Version)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.ReconcileRequest(t.Context(), httpapi.ChangeUpdated, p, r2); err != nil {
				t.Fatal(err)
			}
			e.waitFor(t, "team-a-cache", "configure of generation 2 completes", func(st map[string]any) bool {
				return completed(st) && fmt.Sprint(st["observedGeneration"]) == "2"
			})
			if got := e.files_(t)[path]; !strings.Contains(got, "size: large") {
				t.Errorf("after the update, %s = %q, want size large", path, got)
			}
			if n := e.count("render.runs"); n != 2 {
				t.Errorf("render ran %d times, want 2", n)
			}

			// Delete: the delete pipeline runs, the files go, then the request.
			r, _, _ = e.get(t, "team-a-cache")
			if err := c.ReconcileRequest(t.Context(), httpapi.ChangeDeleting, p, r); !errors.Is(err, httpapi.ErrDeleteDeferred) {
				t.Fatalf("deleting: %v, want ErrDeleteDeferred", err)
			}
			e.waitFor(t, "team-a-cache", "the request is removed", gone)
			if n := e.count("delete.runs"); n != 1 {
				t.Errorf("delete pipeline ran %d times, want 1", n)
			}
			if files := e.files_(t); len(files) != 0 {
				t.Errorf("after delete the state store holds %v, want nothing", keys(files))
			}
		})
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func outputsOf(st map[string]any) []api.KratixOutput {
	k, _ := st["kratix"].(map[string]any)
	var out []api.KratixOutput
	remarshal(k["outputs"], &out)
	return out
}
