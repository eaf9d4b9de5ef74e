package statestore

import (
	"encoding/json"
	"flag"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/schedule"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// step is one call of a scenario.
type step struct {
	name string
	del  bool
	ps   []Placement
}

// scenario is a redis promise's life at four destinations, one per layout (nested at a path, nested at the
// store's root, none, aggregatedYAML), in the forms of Kratix's samples: two requests, the promise's
// dependencies, a request's second workload group, a request rewritten with fewer files, and a request deleted.
func scenario(kind, store string) []step {
	dev := destination("dev", kind, store, "", api.FilepathNestedByMetadata) // path defaults to the name
	root := destination("root", kind, store, ".", "")
	flat := destination("flat", kind, store, "clusters/flat", api.FilepathNone)
	catalog := destination("catalog", kind, store, "agg", api.FilepathAggregatedYAML)
	req := func(name string, d api.Destination, group string, fs []File) Placement {
		return Placement{Destination: d, Promise: "redis", Resource: name, Namespace: "default",
			Pipeline: "instance-configure", GroupID: group, Files: fs}
	}
	one := files("redis.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cache-one\n",
		"config/settings.yaml", "maxmemory: 64mb\n")
	two := files("cache-two.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cache-two\n")
	monitoring := schedule.GroupID("monitoring")
	deps := Placement{Destination: dev, Promise: "redis", Pipeline: "promise-configure", GroupID: rootGroup,
		Files: files("crds/redis-operator.yaml", "kind: CustomResourceDefinition\nmetadata:\n  name: redis.databases.example.com\n")}
	less := files("redis.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cache-one\n  labels: {v: \"2\"}\n")
	return []step{
		{name: "cache-one", ps: []Placement{req("cache-one", dev, rootGroup, one), req("cache-one", root, rootGroup, one),
			req("cache-one", flat, rootGroup, one), req("cache-one", catalog, rootGroup, one)}},
		{name: "cache-two", ps: []Placement{req("cache-two", flat, rootGroup, two), req("cache-two", catalog, rootGroup, two)}},
		{name: "dependencies", ps: []Placement{deps}},
		{name: "cache-one monitoring group", ps: []Placement{req("cache-one", dev, monitoring,
			files("monitoring/servicemonitor.yaml", "kind: ServiceMonitor\n"))}},
		{name: "cache-one rewritten with fewer files", ps: []Placement{req("cache-one", dev, rootGroup, less),
			req("cache-one", flat, rootGroup, less), req("cache-one", catalog, rootGroup, less)}},
		{name: "cache-two deleted", del: true, ps: []Placement{req("cache-two", flat, rootGroup, nil), req("cache-two", catalog, rootGroup, nil)}},
	}
}

func runScenario(t *testing.T, w Writer, steps []step) []Result {
	t.Helper()
	var out []Result
	for _, s := range steps {
		var res Result
		var err error
		if s.del {
			res, err = w.Delete(t.Context(), s.ps...)
		} else {
			res, err = w.Write(t.Context(), s.ps...)
		}
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		out = append(out, res)
	}
	return out
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", p, diff)
	}
}

// TestGoldenDirectoryStore checks the files a directory store holds after the scenario, and what each call said
// it wrote, against testdata (go test -update rewrites them).
func TestGoldenDirectoryStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	ws, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := ws.For(api.StateStore{Kind: api.KindDirectoryStateStore, Name: "local", Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	results := runScenario(t, w, scenario(api.KindDirectoryStateStore, "local"))
	checkGolden(t, "scenario.files.golden", listing(dirFiles(t, dir)))
	b, _ := json.MarshalIndent(results, "", "  ")
	checkGolden(t, "scenario.results.golden.json", string(b)+"\n")
}

// TestGitStoreMatchesDirectoryStore runs the scenario against a git store whose path is "platform" and checks
// that the branch holds, under platform/, exactly the files of the golden directory store, one commit per call
// by the store's gitAuthor.
func TestGitStoreMatchesDirectoryStore(t *testing.T) {
	bare := emptyBare(t)
	ws, err := New(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	store := api.StateStore{Kind: api.KindGitStateStore, Name: "git", URL: "file://" + bare, Path: "/platform/",
		GitAuthor: api.GitAuthor{Name: "Platform Bot", Email: "bot@example.com"}}
	w, err := ws.For(store)
	if err != nil {
		t.Fatal(err)
	}
	steps := scenario(api.KindGitStateStore, "git")
	results := runScenario(t, w, steps)
	got := map[string]string{}
	for p, c := range repoFiles(t, bare, "main") {
		rel, ok := strings.CutPrefix(p, "platform/")
		if !ok {
			t.Errorf("file %s is outside the store's path platform/", p)
		}
		got[rel] = c
	}
	checkGolden(t, "scenario.files.golden", listing(got))
	head := strings.TrimSpace(gitCmd(t, bare, "rev-parse", "main"))
	if v := results[len(results)-1].Version; v != head {
		t.Errorf("last Result.Version = %q, want the branch's head %s", v, head)
	}
	if n := strings.Count(gitCmd(t, bare, "log", "--format=%H", "main"), "\n"); n != len(steps) {
		t.Errorf("branch has %d commits, want one per call (%d)", n, len(steps))
	}
	if a := gitCmd(t, bare, "log", "-1", "--format=%an <%ae>|%s", "main"); !strings.HasPrefix(a, "Platform Bot <bot@example.com>|Delete from: redis-cache-two-default-instance-configure-") {
		t.Errorf("last commit = %q, want the store's author and Kratix's message", a)
	}
	// The results name the same placements and paths, under the store's path.
	for i, r := range results {
		for j, pw := range r.Placements {
			for _, p := range append(append([]string{}, pw.Paths...), pw.Deleted...) {
				if !strings.HasPrefix(p, "platform/") {
					t.Errorf("step %d placement %d: path %q is not under platform/", i, j, p)
				}
			}
			if pw.Dir != "" && path.Dir(pw.Dir) == "." {
				t.Errorf("step %d placement %d: dir %q", i, j, pw.Dir)
			}
		}
	}
}
