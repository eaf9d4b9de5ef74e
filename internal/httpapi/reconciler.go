package httpapi

import (
	"context"
	"errors"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// The seam between the promise and request routes and what fulfils them (the workflows that run a promise's
// pipelines). The routes store, validate and authorize; a PromiseReconciler is told of every change once it is
// stored, and decides what runs. Until one is wired in, NopReconciler runs nothing and deletes at once.

// Change is what happened to a promise or a resource request.
type Change string

// The changes a PromiseReconciler is told of.
const (
	// ChangeCreated and ChangeUpdated: the object was stored (an update of labels alone is one too; compare
	// Metadata.Generation with the status's observedGeneration to tell a spec change).
	ChangeCreated Change = "created"
	ChangeUpdated Change = "updated"
	// ChangeDeleting: a client asked to delete the object, which is still stored. The reconciler returns nil to
	// have the route delete it now, or ErrDeleteDeferred when it takes the deletion over (it runs the delete
	// workflow and removes the object itself once that succeeded).
	ChangeDeleting Change = "deleting"
	// ChangeDeleted: the route removed the object; it is passed as it was last stored.
	ChangeDeleted Change = "deleted"
)

// ErrDeleteDeferred is a PromiseReconciler's answer to ChangeDeleting when it removes the object itself later:
// the route answers 202 with the object as stored and deletes nothing.
var ErrDeleteDeferred = errors.New("httpapi: deletion deferred to the delete workflow")

// PromiseReconciler is told of every stored change to promises and resource requests, in the request that made
// it and after the change committed (before it, for ChangeDeleting). It must not wait for pipelines: it records
// or starts what has to run and returns. An error other than ErrDeleteDeferred from ChangeDeleting fails the
// delete (the object stays); any other error is logged and the API's answer stands, since the change is stored
// — a reconciler that must not lose one re-reads the store when it starts (every promise and request is listed
// there). It is never called for a dry run. Calls may come from many requests at once.
type PromiseReconciler interface {
	// ReconcilePromise is called with the promise as stored (as last stored for ChangeDeleted).
	ReconcilePromise(ctx context.Context, change Change, p store.Promise) error
	// ReconcileRequest is called with the request and its promise as stored.
	ReconcileRequest(ctx context.Context, change Change, p store.Promise, r store.ResourceRequest) error
}

// NopReconciler runs nothing: promises and requests are only stored, and deletes happen at once.
type NopReconciler struct{}

// ReconcilePromise does nothing.
func (NopReconciler) ReconcilePromise(context.Context, Change, store.Promise) error { return nil }

// ReconcileRequest does nothing.
func (NopReconciler) ReconcileRequest(context.Context, Change, store.Promise, store.ResourceRequest) error {
	return nil
}

var _ PromiseReconciler = NopReconciler{}

// PromiseChecker is an optional capability of a PromiseReconciler: CheckPromise is asked before a promise is
// stored (created or replaced, dry runs too), and an error (an *api.InvalidError for a 400 naming the field)
// refuses it with nothing stored. It checks what only the fulfilling side knows, such as where its pipelines can
// run.
type PromiseChecker interface {
	CheckPromise(ctx context.Context, p api.Promise) error
}

// reconcilePromise tells the reconciler of a stored change, logging its error; nothing for a dry run.
func (h *Handler) reconcilePromise(ctx context.Context, change Change, p store.Promise) {
	if dryRunFrom(ctx) != nil {
		return
	}
	if err := h.reconciler.ReconcilePromise(ctx, change, p); err != nil {
		h.log.ErrorContext(ctx, "reconcile promise", "promise", p.Metadata.Name, "change", string(change), "err", err)
	}
}

func (h *Handler) reconcileRequest(ctx context.Context, change Change, p store.Promise, r store.ResourceRequest) {
	if dryRunFrom(ctx) != nil {
		return
	}
	if err := h.reconciler.ReconcileRequest(ctx, change, p, r); err != nil {
		h.log.ErrorContext(ctx, "reconcile resource request", "promise", p.Metadata.Name,
			"namespace", r.Metadata.Namespace, "name", r.Metadata.Name, "change", string(change), "err", err)
	}
}

// WorkflowAction is what a client asks of a resource request's or a promise's workflows
// (POST /resources/{promise}/{name}/{action}, POST /promises/{name}/{action}).
type WorkflowAction string

// The actions on a request.
const (
	// ActionReconcile runs the configure workflow again from its first pipeline.
	ActionReconcile WorkflowAction = "reconcile"
	// ActionResume runs again the pipeline that suspended its workflow (workflow-control.yaml), then the rest.
	ActionResume WorkflowAction = "resume"
	// ActionRetry runs a failed workflow (configure, or delete) again from its first pipeline.
	ActionRetry WorkflowAction = "retry"
)

// RequestActor is a PromiseReconciler that acts on a request when asked: it stores what is to run and returns the
// request as stored, or an error wrapping store.ErrConflict (with a message for the client) when the action does
// not apply to the request as it stands. A reconciler without it answers those routes 409.
type RequestActor interface {
	ActOnRequest(ctx context.Context, a WorkflowAction, p store.Promise, r store.ResourceRequest) (store.ResourceRequest, error)
	// ActOnPromise is ActOnRequest for the promise's own workflows.
	ActOnPromise(ctx context.Context, a WorkflowAction, p store.Promise) (store.Promise, error)
}

// DestinationReconciler is a PromiseReconciler that is also told of every stored change to destinations, as
// ReconcilePromise is of promises: output that matched no destination may have one now (ChangeCreated,
// ChangeUpdated), and a destination with cleanup all has the files written to it removed before it goes
// (ChangeDeleting: an error fails the delete, and the destination stays). A reconciler without it is told nothing.
type DestinationReconciler interface {
	ReconcileDestination(ctx context.Context, change Change, d api.Destination) error
}

// reconcileDestination tells the reconciler, if it would know, of a stored change to d, logging its error.
func (h *Handler) reconcileDestination(ctx context.Context, change Change, d api.Destination) {
	dr, ok := h.reconciler.(DestinationReconciler)
	if !ok || dryRunFrom(ctx) != nil {
		return
	}
	if err := dr.ReconcileDestination(ctx, change, d); err != nil {
		h.log.ErrorContext(ctx, "reconcile destination", "destination", d.Name, "change", string(change), "err", err)
	}
}
