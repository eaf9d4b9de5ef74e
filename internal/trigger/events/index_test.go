package events

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

func TestExactLiteral(t *testing.T) {
	tests := []struct {
		pattern string
		want    string
		ok      bool
	}{
		{`^sh\.keptn\.event\.test\.triggered$`, "sh.keptn.event.test.triggered", true},
		{`^a$`, "a", true},
		{`^$`, "", true},
		{`^a.b$`, "", false},       // . is any character
		{`^a\.b`, "", false},       // a prefix
		{`a\.b$`, "", false},       // a suffix
		{`a\.b`, "", false},        // found anywhere
		{`(?i)^a\.b$`, "", false},  // any case
		{`^a\.b$|^c$`, "", false},  // two types
		{`^(?m)a$`, "", false},     // $ at a line's end
		{`^a\.b\z`, "a.b", true},   // \z is Perl's $
		{`\A a\.b$`, " a.b", true}, // \A is ^; the space is part of the literal
		{`(`, "", false},           // does not compile
		{`^dev\.bench\.t0[0-9]$`, "", false},
	}
	for _, tt := range tests {
		got, ok := exactLiteral(tt.pattern)
		if got != tt.want || ok != tt.ok {
			t.Errorf("exactLiteral(%q) = %q, %v; want %q, %v", tt.pattern, got, ok, tt.want, tt.ok)
		}
	}
}

// matches is what an event of type typ starts, rule set by rule set (by index), as the plain scan of every set
// finds it: the reference the index must agree with. A rule set with a path is listed as matched with no action
// (Accept gives such an event to the dispatcher).
func matches(sets []store.EventRuleSet, only []int, typ string, doc map[string]any) map[int][]int {
	out := map[int][]int{}
	for k, rs := range sets {
		if only != nil && !slices.Contains(only, k) {
			continue
		}
		if rs.Path != "" {
			out[k] = []int{}
			continue
		}
		if m := Match(rs.EventRules, typ, doc); len(m) > 0 {
			out[k] = m
		}
	}
	return out
}

// TestRuleIndexAgreesWithScan: for random rule sets (anchored literals, prefixes, regular expressions, bad
// patterns, JSONPath conditions, silent actions, multiple, rules from a repository) and event types, the rule sets
// the index offers, matched, start exactly what matching every rule set starts, in the same order. It fails if
// the index leaves out a rule set that matches (e.g. one filed under a literal it does not match exactly).
func TestRuleIndexAgreesWithScan(t *testing.T) {
	patterns := []string{`^a\.b$`, `^a\.c$`, `^a\.b$`, `^x$`, `^$`, `^a`, `b$`, `a\.b`, `.*`, `(`, `(?i)^A\.B$`,
		`^a\.b$|^x$`, `^(a\.b)$`, `^a\.b\z`, `^a.b$`, `^a\.b\n$`, `^(?m)a\.b$`}
	types := []string{"a.b", "a.c", "A.B", "x", "", "a.b\n", "za.b", "a.bz", "axb", "b"}
	doc := Document(api.Event{ID: "1", Source: "s", Type: "a.b", Data: []byte(`{"k":"v"}`)})
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 500 {
		sets := make([]store.EventRuleSet, 1+rng.IntN(8))
		for k := range sets {
			r := api.EventRules{Name: fmt.Sprintf("r%d", k), APIVersion: "v2", Multiple: rng.IntN(3) == 0}
			for a := range 1 + rng.IntN(3) {
				act := api.KeptnAction{Name: fmt.Sprintf("a%d", a), Silent: rng.IntN(3) == 0}
				for range 1 + rng.IntN(2) {
					e := api.KeptnEvent{Name: patterns[rng.IntN(len(patterns))]}
					if rng.IntN(4) == 0 {
						e.JSONPath = api.KeptnJSONPath{Property: "$.data.k", Match: []string{"v", "w"}[rng.IntN(2)]}
					}
					act.Events = append(act.Events, e)
				}
				r.Actions = append(r.Actions, act)
			}
			sets[k] = store.EventRuleSet{EventRules: r}
			if rng.IntN(10) == 0 {
				sets[k].Path = "job/config.yaml"
			}
		}
		x := newRuleIndex(sets)
		for _, typ := range types {
			c := x.candidates(typ)
			if !slices.IsSorted(c) || len(slices.Compact(slices.Clone(c))) != len(c) {
				t.Fatalf("round %d: candidates(%q) = %v, want ascending, each once", round, typ, c)
			}
			want := matches(sets, nil, typ, doc)
			got := matches(sets, append([]int{}, c...), typ, doc)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("round %d: type %q: the index's candidates %v start other actions than the scan (-scan +index):\n%s\nsets: %+v",
					round, typ, c, diff, sets)
			}
		}
	}
}

// FuzzRuleIndex: a rule set the index leaves out for a type never matches it.
func FuzzRuleIndex(f *testing.F) {
	f.Add(`^a\.b$`, "a.b")
	f.Add(`^a\.b$`, "a.b\n")
	f.Add(`(?i)^A$`, "a")
	f.Add(`^\x{212A}$`, "K")
	f.Fuzz(func(t *testing.T, pattern, typ string) {
		sets := []store.EventRuleSet{{EventRules: api.EventRules{Actions: []api.KeptnAction{{Events: []api.KeptnEvent{{Name: pattern}}}}}}}
		if len(newRuleIndex(sets).candidates(typ)) == 0 && len(Match(sets[0].EventRules, typ, nil)) > 0 {
			t.Errorf("pattern %q matches type %q, but the index leaves its rule set out", pattern, typ)
		}
	})
}
