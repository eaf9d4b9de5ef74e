package schedule

import (
	"hash/fnv"
	"slices"

	"github.com/runplane/runplane/api"
)

// Placement asks where one workload group goes.
type Placement struct {
	// Key identifies the placement (promise, namespace, request, pipeline, group): a resource request's one
	// destination is picked by its hash, so the same key picks the same destination from the same candidates.
	Key string
	// Resource says the group is a resource request's output (ONE destination); otherwise it is a promise's or
	// its dependencies' (ALL matching destinations).
	Resource bool
	// Selectors are the group's selectors (Group.Selectors).
	Selectors []Selector
	// Previous are the destinations the group was placed at before, if any.
	Previous []string
}

// Decision is where a group goes.
type Decision struct {
	// Destinations the group's files are to be written to, sorted by name. Empty: no destination matches
	// (Kratix leaves the work unscheduled and waits for one).
	Destinations []string `json:"destinations"`
	// Misplaced are destinations the group is placed at that its selectors no longer select. A resource
	// request's stay in Destinations (its placement is sticky: Kratix keeps writing there and flags it); a
	// promise's are not in Destinations, and the caller decides whether to remove their files.
	Misplaced []string `json:"misplaced,omitempty"`
}

// Select decides where a group goes among dests, as Kratix's scheduler does. A destination is a candidate when
// its labels include every resolved selector (Resolve); with no selectors, every destination is, except those with
// strictMatchLabels and labels. A resource request goes to ONE candidate, and once placed it stays where it
// was (Previous, among dests) even if the labels change; a promise's output goes to ALL candidates.
func Select(dests []api.Destination, p Placement) Decision {
	want := Resolve(p.Selectors)
	var candidates []string
	exists := map[string]bool{}
	for _, d := range dests {
		exists[d.Name] = true
		if Matches(d, want) {
			candidates = append(candidates, d.Name)
		}
	}
	slices.Sort(candidates)
	var prev []string
	for _, n := range sortedCopy(p.Previous) {
		if exists[n] && !slices.Contains(prev, n) {
			prev = append(prev, n)
		}
	}
	var dec Decision
	for _, n := range prev {
		if !slices.Contains(candidates, n) {
			dec.Misplaced = append(dec.Misplaced, n)
		}
	}
	if p.Resource {
		if len(prev) > 0 {
			dec.Destinations = prev
			return dec
		}
		if len(candidates) > 0 {
			h := fnv.New64a()
			h.Write([]byte(p.Key))
			dec.Destinations = []string{candidates[h.Sum64()%uint64(len(candidates))]}
		}
		return dec
	}
	dec.Destinations = candidates
	return dec
}

// Matches reports whether destination d may receive a group whose resolved selectors are want: d's labels
// include all of want; with no selectors, d must not be strictMatchLabels with labels.
func Matches(d api.Destination, want map[string]string) bool {
	if len(want) == 0 {
		return !(d.StrictMatchLabels && len(d.Labels) > 0)
	}
	for k, v := range want {
		if got, ok := d.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
