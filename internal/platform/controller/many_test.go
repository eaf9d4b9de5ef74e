package controller_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/runplane/runplane/internal/platform/controller"
	"github.com/runplane/runplane/internal/platform/schedule"
)

// Many requests at once against one git state store, with two controllers sharing the store as two replicas do:
// every request completes, every file is committed, none is written twice over another's (no conflict surfaces).
func TestManyRequestsOneGitStore(t *testing.T) {
	const n = 20
	e := newEnv(t, true)
	c1, _ := e.controller(t, controller.Options{Workers: 4})
	e.controller(t, controller.Options{Workers: 4})
	p := e.promise(t, e.cacheWorkflows())
	for i := range n {
		e.request(t, c1, p, fmt.Sprintf("cache-%02d", i), `{"size":"small"}`, nil)
	}
	for i := range n {
		e.waitFor(t, fmt.Sprintf("cache-%02d", i), "configure completes", completed)
	}
	files := e.files_(t)
	sid := schedule.ShortID(schedule.GroupID("."))
	for i := range n {
		name := fmt.Sprintf("cache-%02d", i)
		path := "dev/resources/team-a/cache/" + name + "/render/" + sid + "/app/deployment.yaml"
		if !strings.Contains(files[path], "name: "+name) {
			t.Errorf("%s = %q", path, files[path])
		}
	}
	if len(files) != n {
		t.Errorf("state store holds %d files, want %d", len(files), n)
	}
	if runs := e.count("render.runs"); runs != n {
		t.Errorf("render ran %d times for %d requests, want once each", runs, n)
	}
}
