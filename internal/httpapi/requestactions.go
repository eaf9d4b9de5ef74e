package httpapi

import (
	"errors"
	"net/http"

	"github.com/runplane/runplane/internal/store"
)

// actOnRequest answers POST /resources/{promise}/{name}/{reconcile,resume,retry}: the reconciler stores what is
// to run and the request is answered as stored; 409 when the action does not apply to it as it stands (nothing
// suspended to resume, nothing failed to retry, a reconcile of a request being deleted or paused).
func (h *Handler) actOnRequest(a WorkflowAction) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, ap, err := h.requestTarget(r.Context(), r.PathValue("promise"))
		if err != nil {
			return err
		}
		rr, err := h.request(r, ap)
		if err != nil {
			return err
		}
		setTarget(w, requestTarget(p.Metadata.Name, rr.Metadata))
		actor, ok := h.reconciler.(RequestActor)
		if !ok {
			return withMsg(store.ErrConflict, "this server runs no workflows for resource requests")
		}
		if dryRunFrom(r.Context()) != nil {
			writeJSON(w, http.StatusOK, rr.ResourceRequest)
			return nil
		}
		stored, err := actor.ActOnRequest(r.Context(), a, p, rr)
		switch {
		case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
			return withMsg(err, "%s", err.Error())
		case err != nil:
			return err
		}
		writeJSON(w, http.StatusOK, stored.ResourceRequest)
		return nil
	}
}

// actOnPromise answers POST /promises/{name}/{reconcile,resume,retry}, as actOnRequest does for requests.
func (h *Handler) actOnPromise(a WorkflowAction) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := h.promise(r.Context(), r.PathValue("name"))
		if err != nil {
			return err
		}
		actor, ok := h.reconciler.(RequestActor)
		if !ok {
			return withMsg(store.ErrConflict, "this server runs no workflows for promises")
		}
		if dryRunFrom(r.Context()) != nil {
			writeJSON(w, http.StatusOK, p.Promise)
			return nil
		}
		stored, err := actor.ActOnPromise(r.Context(), a, p)
		switch {
		case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
			return withMsg(err, "%s", err.Error())
		case err != nil:
			return err
		}
		writeJSON(w, http.StatusOK, stored.Promise)
		return nil
	}
}
