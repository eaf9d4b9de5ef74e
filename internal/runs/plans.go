package runs

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/workflow"
)

// maxPlans bounds the cache; past it, it starts over (compiling again costs little next to a run).
const maxPlans = 256

// maxRunPlans bounds the plans (and definitions) remembered by run; past it, that map starts over (a run not
// found there is found by its definition, as at first).
const maxRunPlans = 2048

// runPlan is what is remembered of a run: its definition (its own: a shared plan's may differ in the
// description) and that definition's plan.
type runPlan struct {
	plan *workflow.Plan
	def  api.Workflow
}

// forRun returns the plan of run's definition. A run follows the definition it was created with to its end, so
// its plan is remembered by the run (its id and creation time, which tell a later run reusing a deleted one's id
// apart): an advance, or a step's start, then finds it without encoding the definition again to key the cache —
// which each of them did, several times per run.
func (p *plans) forRun(run store.Run) (*workflow.Plan, error) {
	key := runKey(run)
	p.mu.Lock()
	rp, ok := p.byRun[key]
	p.mu.Unlock()
	if ok {
		return rp.plan, nil
	}
	plan, err := p.get(run.Definition)
	if err != nil {
		return nil, err
	}
	p.remember(run, plan)
	return plan, nil
}

// definition returns run's definition as remembered with its plan; false when it is not (the run is another
// server's, or older than this engine, or forgotten): then it has to be read.
func (p *plans) definition(run store.Run) (api.Workflow, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rp, ok := p.byRun[runKey(run)]
	return rp.def, ok
}

// remember records plan as run's, the plan of its definition, which it records too. The definition is shared
// with every run read later with it (getRun): it is never changed in place.
func (p *plans) remember(run store.Run, plan *workflow.Plan) {
	if run.Definition.Name == "" {
		return // a run read without its definition
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byRun == nil || len(p.byRun) >= maxRunPlans {
		p.byRun = make(map[string]runPlan)
	}
	p.byRun[runKey(run)] = runPlan{plan: plan, def: run.Definition}
}

func runKey(run store.Run) string {
	return run.ID + "\x00" + strconv.FormatInt(run.CreateTime.UnixMicro(), 10) // as PostgreSQL keeps it
}

// get returns the compiled plan of w, compiling it once per definition. The description plays no part in a plan,
// so definitions that differ only there share one (an event rule's action names its event in it: one plan per
// action, not per event).
func (p *plans) get(w api.Workflow) (*workflow.Plan, error) {
	if strings.IndexByte(w.Description, 0) >= 0 {
		return workflow.Compile(w) // refused, saying why
	}
	w.Description = ""
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("runs: workflow %s: %w", w.Name, err)
	}
	sum := sha256.Sum256(b)
	key := string(sum[:])
	p.mu.Lock()
	plan, ok := p.m[key]
	p.mu.Unlock()
	if ok {
		return plan, nil
	}
	plan, err = workflow.Compile(w)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.m == nil || len(p.m) >= maxPlans {
		p.m = make(map[string]*workflow.Plan)
	}
	p.m[key] = plan
	p.mu.Unlock()
	return plan, nil
}
