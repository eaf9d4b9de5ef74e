package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/trigger/events"
)

// repoAt reads every runner's files from one real repository through a real git cache; fail injects a failure.
type repoAt struct {
	c    *gitsource.Cache
	url  string
	fail error
}

func (r repoAt) ReadFiles(ctx context.Context, _ string, commit string, paths []string, max int) (map[string][]byte, error) {
	if r.fail != nil {
		return nil, r.fail
	}
	files, _, err := r.c.ReadFiles(ctx, executor.Repo{URL: r.url}, commit, paths, max)
	return files, err
}

// A task's files are read at the event's commit and put in its step (its job's input files); its resources and
// Kubernetes settings go with them. Files that cannot be read start nothing and answer errored.
func TestDispatchFiles(t *testing.T) {
	bare := gittest.NewRepo(t, map[string]string{"locust/basic.py": "v1", "locust/locust.conf": "c"})
	first := gittest.Head(t, bare, "main")
	gittest.Commit(t, bare, map[string]string{"locust/basic.py": "v2"})
	cache, err := gitsource.New(t.TempDir(), gitsource.Options{})
	must(t, err)
	sa := "tester"
	rules := api.EventRules{Name: "deploy", Owner: "ops", APIVersion: "v2", Runner: "config", Actions: []api.KeptnAction{{
		Name: "test", Events: []api.KeptnEvent{on("deployment")}, Tasks: []api.KeptnTask{
			{Name: "read", Image: "alpine", Cmd: []string{"cat"}, Files: []string{"/locust"}, ImagePullPolicy: "Always", ServiceAccount: &sa,
				Resources: &api.KeptnResources{Limits: api.KeptnResourceList{CPU: "1", Memory: "512Mi"}, Requests: api.KeptnResourceList{CPU: "50m"}}},
			{Name: "plain", Image: "alpine", Cmd: []string{"true"}},
		}}}}
	must(t, events.Validate(rules))

	tests := []struct {
		name    string
		fail    error
		files   map[string]string // of the first step; nil: no run
		message string            // of an errored .finished
	}{
		{"read at the commit", nil, map[string]string{"locust/basic.py": "v1", "locust/locust.conf": "c"}, ""},
		{"repository fails", errors.New("fetch failed: connection refused"), nil,
			"Error while creating job: could not retrieve resources for task 'read': fetch failed: connection refused"},
		{"file missing", &gitsource.PathNotFoundError{Path: "/locust"}, nil,
			"Error while creating job: could not find file or directory /locust for task read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.st.CreateEventRules(t.Context(), store.EventRuleSet{EventRules: rules, OwnerID: e.ops.ID})
			must(t, err)
			rec := &recorder{}
			d := events.NewDispatcher(e.st, e.firer, events.Options{Emitter: rec, Repos: repoAt{c: cache, url: gittest.URL(bare), fail: tc.fail}})
			ev := triggered("ev-1")
			ev.Extensions["gitcommitid"] = first
			_, err = d.Accept(t.Context(), []api.Event{ev})
			must(t, err)
			must(t, d.Dispatch(t.Context()))
			runs := e.started(t)
			if tc.files == nil {
				if len(runs) != 0 {
					t.Fatalf("%d runs, want none", len(runs))
				}
				var fin struct{ Status, Message string }
				rec.mu.Lock()
				defer rec.mu.Unlock()
				if len(rec.got) != 2 {
					t.Fatalf("answers %d, want .started and .finished", len(rec.got))
				}
				_ = json.Unmarshal(rec.got[1].Data, &fin)
				if fin.Status != "errored" || !strings.HasPrefix(fin.Message, tc.message) {
					t.Errorf(".finished %+v, want errored with %q", fin, tc.message)
				}
				return
			}
			if len(runs) != 1 {
				t.Fatalf("%d runs, want 1", len(runs))
			}
			steps := runs[0].Definition.Steps
			got := map[string]string{}
			for k, v := range steps[0].Files {
				got[k] = string(v)
			}
			if diff := cmp.Diff(tc.files, got); diff != "" || steps[1].Files != nil {
				t.Errorf("step files (-want +got):\n%s\nsecond step's: %v", diff, steps[1].Files)
			}
			wantRes := &api.TaskResources{Limits: map[string]string{"cpu": "1", "memory": "512Mi"}, Requests: map[string]string{"cpu": "50m"}}
			wantKube := &api.TaskKubernetes{ImagePullPolicy: "Always", ServiceAccount: "tester"}
			if diff := cmp.Diff(wantRes, steps[0].Resources); diff != "" {
				t.Errorf("step resources (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantKube, steps[0].Kubernetes); diff != "" || steps[1].Kubernetes != nil || steps[1].Resources != nil {
				t.Errorf("step kubernetes (-want +got):\n%s", diff)
			}
		})
	}
}
