package runs

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/workflow"
)

// maxPlans bounds the cache; past it, it starts over (compiling again costs little next to a run).
const maxPlans = 256

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
