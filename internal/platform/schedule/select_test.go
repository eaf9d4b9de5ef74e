package schedule

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/runplane/runplane/api"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func dest(name string, strict bool, labels ...string) api.Destination {
	d := api.Destination{Name: name, StrictMatchLabels: strict, Labels: map[string]string{}}
	for i := 0; i+1 < len(labels); i += 2 {
		d.Labels[labels[i]] = labels[i+1]
	}
	return d
}

func TestSelect(t *testing.T) {
	dests := []api.Destination{
		dest("dev", false, "env", "dev"),
		dest("prod", false, "env", "prod"),
		dest("strict", true, "env", "dev", "team", "a"),
		dest("bare-strict", true),
	}
	env := func(v string, s Source) []Selector {
		return []Selector{{MatchLabels: map[string]string{"env": v}, Source: s}}
	}
	tests := []struct {
		name string
		p    Placement
		want Decision
	}{
		{"promise to all without selectors, strict with labels skipped", Placement{}, Decision{Destinations: []string{"bare-strict", "dev", "prod"}}},
		{"promise to all matching", Placement{Selectors: env("dev", SourcePromise)}, Decision{Destinations: []string{"dev", "strict"}}},
		{"strict selected by selectors", Placement{Selectors: []Selector{{MatchLabels: map[string]string{"team": "a"}, Source: SourcePromise}}},
			Decision{Destinations: []string{"strict"}}},
		{"none matches", Placement{Selectors: env("qa", SourcePromise)}, Decision{}},
		{"request to one", Placement{Resource: true, Key: "k", Selectors: env("prod", SourceResourceWorkflow)}, Decision{Destinations: []string{"prod"}}},
		{"request sticks", Placement{Resource: true, Key: "k", Selectors: env("dev", SourceResourceWorkflow), Previous: []string{"dev"}},
			Decision{Destinations: []string{"dev"}}},
		{"request sticks though misplaced", Placement{Resource: true, Key: "k", Selectors: env("prod", SourceResourceWorkflow), Previous: []string{"dev"}},
			Decision{Destinations: []string{"dev"}, Misplaced: []string{"dev"}}},
		{"request whose destination is gone chooses again", Placement{Resource: true, Key: "k", Selectors: env("prod", SourceResourceWorkflow), Previous: []string{"gone"}},
			Decision{Destinations: []string{"prod"}}},
		{"promise output leaves a misplaced destination", Placement{Selectors: env("prod", SourcePromise), Previous: []string{"dev", "prod"}},
			Decision{Destinations: []string{"prod"}, Misplaced: []string{"dev"}}},
		{"promise selector beats workflow's", Placement{Resource: true, Key: "k", Selectors: append(env("dev", SourceResourceWorkflow), env("prod", SourcePromise)...)},
			Decision{Destinations: []string{"prod"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Select(dests, tc.p)); diff != "" {
				t.Errorf("Select (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSelectOneIsStableAndSpread(t *testing.T) {
	dests := []api.Destination{dest("a", false), dest("b", false), dest("c", false)}
	seen := map[string]int{}
	for i := range 300 {
		key := "redis/default/r" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		d1 := Select(dests, Placement{Resource: true, Key: key}).Destinations
		d2 := Select(dests, Placement{Resource: true, Key: key}).Destinations
		if len(d1) != 1 || !cmp.Equal(d1, d2) {
			t.Fatalf("Select(%q) = %v then %v, want one destination, the same twice", key, d1, d2)
		}
		seen[d1[0]]++
	}
	for _, d := range dests {
		if seen[d.Name] < 50 {
			t.Errorf("destination %s chosen %d times of 300, want requests spread over all (%v)", d.Name, seen[d.Name], seen)
		}
	}
}

// goldenCase is a fixture of testdata/*.yaml: one pipeline's output, its selectors and the destinations.
type goldenCase struct {
	Resource         bool                `json:"resource"`
	Key              string              `json:"key"`
	Files            []string            `json:"files"`
	Selectors        string              `json:"selectors"`
	PromiseSelectors []Selector          `json:"promiseSelectors"`
	Destinations     []api.Destination   `json:"destinations"`
	Previous         map[string][]string `json:"previous"`
}

type goldenPlacement struct {
	Group    Group    `json:"group"`
	Decision Decision `json:"decision"`
}

// TestGoldenPlacements checks, for fixtures written in the forms of Kratix's work-creator samples, the workload
// groups and placements Kratix would make. go test -update rewrites the .golden.json files.
func TestGoldenPlacements(t *testing.T) {
	cases, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, path := range cases {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".yaml"), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var c goldenCase
			if err := yaml.UnmarshalStrict(raw, &c); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			var got []goldenPlacement
			sels, err := ParseSelectors(file, []byte(c.Selectors))
			var gotErr string
			if err == nil {
				var groups []Group
				groups, err = Groups(file, Output{Files: c.Files, Selectors: sels, Resource: c.Resource, PromiseSelectors: c.PromiseSelectors})
				for _, g := range groups {
					d := Select(c.Destinations, Placement{Key: c.Key + "/" + g.ID, Resource: c.Resource, Selectors: g.Selectors, Previous: c.Previous[g.Directory]})
					got = append(got, goldenPlacement{Group: g, Decision: d})
				}
			}
			if err != nil {
				gotErr = err.Error()
			}
			b, _ := json.MarshalIndent(struct {
				Placements []goldenPlacement `json:"placements,omitempty"`
				Error      string            `json:"error,omitempty"`
			}{got, gotErr}, "", "  ")
			b = append(b, '\n')
			golden := strings.TrimSuffix(path, ".yaml") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(string(want), string(b)); diff != "" {
				t.Errorf("placements of %s (-want +got):\n%s", path, diff)
			}
		})
	}
}
