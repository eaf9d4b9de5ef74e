package runs

import (
	"slices"
	"sync"

	"github.com/runplane/runplane/internal/store"
)

// maxStates bounds the run states remembered; past it, the map starts over (a run not found there is read).
const maxStates = 4096

// states remembers each live run as this engine last stored it, by id, so that the advance a step's job's end
// asks for decides from it instead of reading the run first. It may be stale (another server advanced or
// cancelled the run meanwhile): the advance's store is conditional on the version it decided from, so a stale
// state costs a conflict, then a read and a decision again — never a wrong store. Jobs a stale decision submits
// are the ones a fresh one would (their keys are the step's attempt's), and those no stored decision records are
// cancelled, as after any lost race.
type states struct {
	mu sync.Mutex
	m  map[string]store.Run
}

// remember records run, as stored (its steps copied: the caller may go on deciding from them, which changes them
// in place); a final run is forgotten.
func (s *states) remember(run store.Run) {
	run.Steps = slices.Clone(run.Steps)
	s.mu.Lock()
	defer s.mu.Unlock()
	if run.Status.Final() {
		delete(s.m, run.ID)
		return
	}
	if s.m == nil || len(s.m) >= maxStates {
		s.m = make(map[string]store.Run)
	}
	s.m[run.ID] = run
}

// take returns run id as last remembered, its steps its own (an advance changes them in place); false when it is
// not remembered.
func (s *states) take(id string) (store.Run, bool) {
	s.mu.Lock()
	run, ok := s.m[id]
	s.mu.Unlock()
	if ok {
		run.Steps = slices.Clone(run.Steps)
	}
	return run, ok
}
