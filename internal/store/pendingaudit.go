package store

import (
	"context"
	"sync"

	"github.com/runplane/runplane/api"
)

// A change and the audit entry that records it commit together. The API puts the entry of a request that may
// change something into the context of the store calls it makes (WithAudit); every backend write that commits
// something writes the entry in the same transaction, once: the first such write of the request carries it, and
// an entry whose write rolled back is left for the next. A request that changed nothing (it failed, was refused,
// or its change needs no write) leaves the entry unwritten, and the API records the outcome in the audit log
// itself.
//
// Backends: a write method takes the entry with Take before it begins its transaction, inserts Entry() there
// after its change (as AppendAudit would, filling an empty ID and a zero CreateTime), and reports with Done
// whether the transaction committed. A method that creates an object whose id it makes names it with
// SetAuditTarget before it inserts the entry. Every write method of Runners, Tasks, Workflows, Runs, Users, Groups,
// Roles, RoleBindings and APITokens does this (RevokeSession and RevokeCredentials too), and CreateJob, CreateJobCapped and FinishJob (a cancel) of Jobs; the
// engine's own queue operations (ClaimJob, ClaimExpired, RenewLeases, SetJobHandle) run under no request and need
// not. A new write method must do it too: storetest's PendingAudit checks the ones above on every backend.

// PendingAudit is the audit entry of one request, waiting for the write that records it. It is safe for
// concurrent use, and its methods do nothing on a nil *PendingAudit.
type PendingAudit struct {
	mu    sync.Mutex
	entry api.AuditLog
	state pendingState
}

type pendingState int

const (
	pendingOpen    pendingState = iota // no write holds the entry
	pendingTaken                       // a write in flight holds it
	pendingWritten                     // a committed write holds it
)

// NewPendingAudit returns e, waiting for its write.
func NewPendingAudit(e api.AuditLog) *PendingAudit { return &PendingAudit{entry: e} }

type pendingAuditKey struct{}

// WithAudit returns ctx carrying p: the store writes p in the transaction of the first change committed under it.
func WithAudit(ctx context.Context, p *PendingAudit) context.Context {
	return context.WithValue(ctx, pendingAuditKey{}, p)
}

// AuditFrom returns the entry ctx carries, or nil.
func AuditFrom(ctx context.Context) *PendingAudit {
	p, _ := ctx.Value(pendingAuditKey{}).(*PendingAudit)
	return p
}

// SetAuditTarget names the object the change under ctx acts on, if ctx carries an entry not yet written.
func SetAuditTarget(ctx context.Context, target string) { AuditFrom(ctx).SetTarget(target) }

// Take hands the entry to a write about to begin; false if there is none, or another write holds it or wrote it.
// The write inserts Entry() as it is when the change is made, and must call Done.
func (p *PendingAudit) Take() bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != pendingOpen {
		return false
	}
	p.state = pendingTaken
	return true
}

// Done ends the write that took the entry: written if it committed, else open for the next write.
func (p *PendingAudit) Done(committed bool) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != pendingTaken {
		return
	}
	p.state = pendingOpen
	if committed {
		p.state = pendingWritten
	}
}

// Written reports whether a committed write recorded the entry.
func (p *PendingAudit) Written() bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state == pendingWritten
}

// SetTarget sets the entry's EventTarget unless a committed write recorded it. A write holding the entry may
// still name what it found (an earlier job an idempotency key stands for, say) before it inserts the entry.
func (p *PendingAudit) SetTarget(target string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != pendingWritten {
		p.entry.EventTarget = target
	}
}

// Entry returns the entry as it is now.
func (p *PendingAudit) Entry() api.AuditLog {
	if p == nil {
		return api.AuditLog{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.entry
}
