package podman

import "github.com/runplane/runplane/internal/executor"

// Abandon plays this process dying: it kills the podman client of h's attempt and forgets the attempt, leaving
// its container running, as a server killed with SIGKILL would.
func (e *Executor) Abandon(h executor.Handle) {
	a := e.lookup(h)
	if a == nil {
		return
	}
	a.abandoned.Store(true)
	_ = a.client.Load().Kill()
	e.mu.Lock()
	delete(e.attempts, h)
	e.mu.Unlock()
}
