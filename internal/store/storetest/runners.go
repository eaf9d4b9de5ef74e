package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

func runner(name string) api.Runner {
	return api.Runner{Name: name, Image: "alpine:3", GitURL: "https://git.example.com/" + name + ".git", Branch: "main"}
}

func testRunnerRoundTrip(t *testing.T, s store.Store) {
	tests := []struct {
		name string
		r    api.Runner
	}{
		{"plain", runner("plain")},
		{"token", api.Runner{Name: "token", GitURL: "https://x/y.git", Token: "ghp_s3cr3t"}},
		{"secrets", api.Runner{Name: "secrets", GitURL: "https://x/y.git", Branch: "dev",
			Secret: map[string]string{"DB_PASSWORD": "hunter2", "API_KEY": "k-123", "EMPTY_LOOKING": " "}}},
		{"both", api.Runner{Name: "both", Image: "python:3", GitURL: "ssh://git@x/y.git", Token: "t0ken",
			Secret: map[string]string{"A": "ünïcødé \"quoted\"\n"}}},
		{"image pull secret", api.Runner{Name: "pull", Image: "registry.example.com/team/img:1", GitURL: "https://x/y.git",
			ImagePullSecret: `{"auths":{"registry.example.com":{"auth":"dXNlcjpwYXNz"}}}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			must(t, "CreateRunner", s.CreateRunner(t.Context(), tt.r))
			got, err := s.GetRunner(t.Context(), tt.r.Name)
			must(t, "GetRunner", err)
			if diff := cmp.Diff(tt.r, got, opts); diff != "" {
				t.Errorf("GetRunner(%q) mismatch (-want +got):\n%s", tt.r.Name, diff)
			}
		})
	}
	list, err := s.ListRunners(t.Context())
	must(t, "ListRunners", err)
	for _, r := range list {
		for _, tt := range tests {
			if tt.r.Name == r.Name {
				if diff := cmp.Diff(tt.r, r, opts); diff != "" {
					t.Errorf("ListRunners()[%q] mismatch (-want +got):\n%s", r.Name, diff)
				}
			}
		}
	}
}

func testRunnerCreateConflict(t *testing.T, s store.Store) {
	must(t, "CreateRunner", s.CreateRunner(t.Context(), runner("r")))
	other := runner("r")
	other.Image = "other"
	checkErr(t, `CreateRunner("r") again`, s.CreateRunner(t.Context(), other), store.ErrConflict, `runner "r" already exists`)
	got, err := s.GetRunner(t.Context(), "r")
	must(t, "GetRunner", err)
	if got.Image != "alpine:3" {
		t.Errorf("GetRunner(%q).Image = %q after a refused create, want %q", "r", got.Image, "alpine:3")
	}
}

func testRunnerNotFound(t *testing.T, s store.Store) {
	_, err := s.GetRunner(t.Context(), "nope")
	checkErr(t, `GetRunner("nope")`, err, store.ErrNotFound, `runner "nope" not found`)
	checkErr(t, `UpdateRunner("nope")`, s.UpdateRunner(t.Context(), runner("nope")), store.ErrNotFound, `runner "nope" not found`)
	checkErr(t, `DeleteRunner("nope")`, s.DeleteRunner(t.Context(), "nope"), store.ErrNotFound, `runner "nope" not found`)
}

func testRunnerList(t *testing.T, s store.Store) {
	empty, err := s.ListRunners(t.Context())
	must(t, "ListRunners", err)
	if len(empty) != 0 {
		t.Errorf("ListRunners() of an empty store = %v, want none", empty)
	}
	for _, n := range []string{"charlie", "alpha", "bravo", "alpha-2"} {
		must(t, "CreateRunner", s.CreateRunner(t.Context(), runner(n)))
	}
	list, err := s.ListRunners(t.Context())
	must(t, "ListRunners", err)
	var names []string
	for _, r := range list {
		names = append(names, r.Name)
	}
	if diff := cmp.Diff([]string{"alpha", "alpha-2", "bravo", "charlie"}, names); diff != "" {
		t.Errorf("ListRunners() names (-want +got):\n%s", diff)
	}
}

func testRunnerUpdate(t *testing.T, s store.Store) {
	r := runner("r")
	r.Token = "old-token"
	r.Secret = map[string]string{"KEEP": "1", "DROP": "2"}
	must(t, "CreateRunner", s.CreateRunner(t.Context(), r))

	steps := []struct {
		name string
		r    api.Runner
	}{
		{"change everything", api.Runner{Name: "r", Image: "debian", GitURL: "https://x/new.git", Branch: "v2",
			Token: "new-token", Secret: map[string]string{"KEEP": "1", "ADDED": "3"},
			ImagePullSecret: `{"auths":{"r.example":{"auth":"dTpw"}}}`}},
		{"drop token and secrets", api.Runner{Name: "r", Image: "debian", GitURL: "https://x/new.git"}},
		{"add them back", api.Runner{Name: "r", GitURL: "https://x/new.git", Token: "t", Secret: map[string]string{"S": "v"}}},
	}
	for _, st := range steps {
		must(t, "UpdateRunner "+st.name, s.UpdateRunner(t.Context(), st.r))
		got, err := s.GetRunner(t.Context(), "r")
		must(t, "GetRunner", err)
		if diff := cmp.Diff(st.r, got, opts); diff != "" {
			t.Errorf("GetRunner after UpdateRunner (%s) mismatch (-want +got):\n%s", st.name, diff)
		}
	}
}

func testRunnerDelete(t *testing.T, s store.Store) {
	must(t, "CreateRunner", s.CreateRunner(t.Context(), runner("a")))
	must(t, "CreateRunner", s.CreateRunner(t.Context(), runner("b")))
	must(t, "DeleteRunner", s.DeleteRunner(t.Context(), "a"))
	_, err := s.GetRunner(t.Context(), "a")
	checkErr(t, `GetRunner("a") after delete`, err, store.ErrNotFound, "")
	checkErr(t, `DeleteRunner("a") again`, s.DeleteRunner(t.Context(), "a"), store.ErrNotFound, "")
	if _, err := s.GetRunner(t.Context(), "b"); err != nil {
		t.Errorf("GetRunner(%q) after deleting another runner: %v", "b", err)
	}
	// The name is free again.
	must(t, "CreateRunner after delete", s.CreateRunner(t.Context(), runner("a")))
}

func testRunnerDeleteInUse(t *testing.T, s store.Store) {
	must(t, "CreateRunner", s.CreateRunner(t.Context(), runner("r")))
	must(t, "CreateRunner", s.CreateRunner(t.Context(), runner("other")))
	for _, n := range []string{"b", "a", "c"} {
		tk := task(n, "r")
		if n == "c" {
			tk.Runner = "other"
		}
		must(t, "CreateTask", s.CreateTask(t.Context(), tk))
	}
	checkErr(t, `DeleteRunner("r")`, s.DeleteRunner(t.Context(), "r"), store.ErrConflict, `runner "r" is used by 2 tasks`)
	if _, err := s.GetRunner(t.Context(), "r"); err != nil {
		t.Errorf("GetRunner(%q) after a refused delete: %v", "r", err)
	}
	must(t, "DeleteTask", s.DeleteTask(t.Context(), "a"))
	checkErr(t, `DeleteRunner("r") with one task`, s.DeleteRunner(t.Context(), "r"), store.ErrConflict, `runner "r" is used by 1 task`)
	must(t, "DeleteTask", s.DeleteTask(t.Context(), "b"))
	must(t, "DeleteRunner once unused", s.DeleteRunner(t.Context(), "r"))
}
