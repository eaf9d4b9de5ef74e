package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// State stores and destinations are addressed by name. A body is the API's flat object or a manifest as Kratix
// writes it ({apiVersion, kind, metadata, spec}). A state store's credentials are sealed at rest and answered
// masked; sending the mask back keeps a value. A state store used by a destination cannot be deleted (409); a
// destination's state store must exist with the kind it names (400), and its filepath.mode cannot change.

func (h *Handler) stateStoreRoutes() []route {
	ss, dest := routesOf(api.ResourceStateStores, "id"), routesOf(api.ResourceDestinations, "id")
	const sp, dp = apiPrefix + "/state_stores", apiPrefix + "/destinations"
	return []route{
		ss("GET", sp, List, h.listStateStores),
		ss("POST", sp, Create, h.createStateStore),
		ss("GET", sp+"/{id}", Object, h.getStateStore),
		ss("PUT", sp+"/{id}", Object, h.replaceStateStore),
		ss("DELETE", sp+"/{id}", Object, h.deleteStateStore),
		dest("GET", dp, List, h.listDestinations),
		dest("POST", dp, Create, h.createDestination),
		dest("GET", dp+"/{id}", Object, h.getDestination),
		dest("PUT", dp+"/{id}", Object, h.replaceDestination),
		dest("DELETE", dp+"/{id}", Object, h.deleteDestination),
	}
}

// readDocument reads a request body whole (it is bounded by the handler's limit); an empty one is a 400.
func readDocument(r *http.Request) ([]byte, error) {
	b, err := readBody(r.Body)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, api.Invalidf("request body is empty: want a JSON document")
	}
	return b, nil
}

// isManifest reports whether a JSON body is a manifest (it has apiVersion or spec).
func isManifest(b []byte) bool {
	var probe struct {
		APIVersion *json.RawMessage `json:"apiVersion"`
		Spec       *json.RawMessage `json:"spec"`
	}
	return json.Unmarshal(b, &probe) == nil && (probe.APIVersion != nil || probe.Spec != nil)
}

func decodeStateStore(r *http.Request) (api.StateStore, error) {
	b, err := readDocument(r)
	if err != nil {
		return api.StateStore{}, err
	}
	if isManifest(b) {
		return api.DecodeStateStoreManifest(b)
	}
	var s api.StateStore
	err = decodeJSON(bytes.NewReader(b), &s)
	return s, err
}

func decodeDestination(r *http.Request) (api.Destination, error) {
	b, err := readDocument(r)
	if err != nil {
		return api.Destination{}, err
	}
	if isManifest(b) {
		return api.DecodeDestinationManifest(b)
	}
	var d api.Destination
	err = decodeJSON(bytes.NewReader(b), &d)
	return d, err
}

func (h *Handler) listStateStores(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r, 0, 0)
	if err != nil {
		return err
	}
	all, err := h.st.ListStateStores(r.Context())
	if err != nil {
		return err
	}
	all = keep(all, readable(r.Context(), api.ResourceStateStores), func(s api.StateStore) string { return s.Name })
	for i := range all {
		all[i] = all[i].Masked()
	}
	s := page.slice(len(all))
	writeList(w, "state_stores", all[s.from:s.to], s, len(all))
	return nil
}

func (h *Handler) getStateStore(w http.ResponseWriter, r *http.Request) error {
	return h.answerStateStore(w, r, r.PathValue("id"))
}

func (h *Handler) createStateStore(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeStateStore(r)
	if err != nil {
		return err
	}
	setTarget(w, in.Name)
	if err := mustMay(r.Context(), api.AccessWrite, api.ResourceStateStores, in.Name); err != nil {
		return err
	}
	if err := in.Validate(); err != nil {
		return err
	}
	if err := h.checkSecretRef(r.Context(), in, nil, ""); err != nil {
		return err
	}
	in.Default()
	if err := h.st.CreateStateStore(r.Context(), in); err != nil {
		return storeMsg(err)
	}
	return h.answerStateStore(w, r, in.Name)
}

// replaceStateStore (PUT) replaces a state store; masked credentials keep their stored values.
func (h *Handler) replaceStateStore(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("id")
	in, err := decodeStateStore(r)
	if err != nil {
		return err
	}
	if err := matchName(&in.Name, name, "state store"); err != nil {
		return err
	}
	stored, err := h.stateStore(r.Context(), name)
	if err != nil {
		return err
	}
	if in.URL != stored.URL && in.Credentials.KeepsAny() {
		// A kept value would go to whoever serves the new URL: a writer who cannot read it must not send it there.
		return api.Invalidf("credentials: Invalid value: the URL changes, so its credentials must be sent again, not kept with %q", api.Mask)
	}
	in = in.MergeCredentials(stored)
	if err := in.Validate(); err != nil {
		return err
	}
	if err := h.checkSecretRef(r.Context(), in, stored.SecretRef, stored.URL); err != nil {
		return err
	}
	in.Default()
	if err := h.st.UpdateStateStore(r.Context(), in); err != nil {
		return storeMsg(err)
	}
	return h.answerStateStore(w, r, name)
}

// checkSecretRef: a git state store's secretRef names the secret it pushes with, to the URL its writer chooses, so
// naming one (other than the one the stored store prev named) needs the right to read that secret (403), or a
// writer of state stores could send it to a server of their own. In embedded mode it names a runner: write access
// to that runner. With a cluster it names a Kubernetes Secret, read with the server's identity, in any namespace
// (Kratix's GitStateStore is cluster-scoped, made by cluster admins): write access to everything (an admin) — also
// to send the Secret to another URL (prevURL, the stored store's), which would hand it to whoever serves that one.
func (h *Handler) checkSecretRef(ctx context.Context, s api.StateStore, prev *api.SecretReference, prevURL string) error {
	ref := s.SecretRef
	if ref == nil {
		return nil
	}
	if h.secretsInCluster {
		if prev != nil && prev.Name == ref.Name && secretNamespace(prev) == secretNamespace(ref) && s.URL == prevURL {
			return nil
		}
		if !may(ctx, api.AccessWrite, api.ResourceAll, api.AllIDs) {
			return withMsg(ErrForbidden, "forbidden: secretRef names Kubernetes Secret %s/%s, which the server reads with its own identity: only an admin (write on every resource) may name one or change the URL it is sent to", secretNamespace(ref), ref.Name)
		}
		return nil
	}
	if prev != nil && prev.Name == ref.Name && s.URL == prevURL {
		return nil
	}
	if !may(ctx, api.AccessWrite, api.ResourceRunners, ref.Name) {
		return withMsg(ErrForbidden, "forbidden: secretRef names the secret of runner %q, which needs write access to it", ref.Name)
	}
	return nil
}

// secretNamespace is ref's namespace, Kratix's default "default" when it names none.
func secretNamespace(ref *api.SecretReference) string {
	if ref.Namespace == "" {
		return "default"
	}
	return ref.Namespace
}

func (h *Handler) deleteStateStore(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("id")
	if err := h.st.DeleteStateStore(r.Context(), name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("state store %q not found", name)
		}
		return storeMsg(err)
	}
	writeJSON(w, http.StatusOK, msg{Msg: "state store deleted successfully"})
	return nil
}

func (h *Handler) stateStore(ctx context.Context, name string) (api.StateStore, error) {
	s, err := h.st.GetStateStore(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return api.StateStore{}, notFound("state store %q not found", name)
	}
	return s, err
}

func (h *Handler) answerStateStore(w http.ResponseWriter, r *http.Request, name string) error {
	s, err := h.stateStore(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.Masked())
	return nil
}

func (h *Handler) listDestinations(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r, 0, 0)
	if err != nil {
		return err
	}
	all, err := h.st.ListDestinations(r.Context())
	if err != nil {
		return err
	}
	all = keep(all, readable(r.Context(), api.ResourceDestinations), func(d api.Destination) string { return d.Name })
	s := page.slice(len(all))
	writeList(w, "destinations", all[s.from:s.to], s, len(all))
	return nil
}

func (h *Handler) getDestination(w http.ResponseWriter, r *http.Request) error {
	return h.answerDestination(w, r, r.PathValue("id"))
}

func (h *Handler) createDestination(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeDestination(r)
	if err != nil {
		return err
	}
	setTarget(w, in.Name)
	if err := mustMay(r.Context(), api.AccessWrite, api.ResourceDestinations, in.Name); err != nil {
		return err
	}
	if err := in.Validate(); err != nil {
		return err
	}
	in.Default()
	if err := h.st.CreateDestination(r.Context(), in); err != nil {
		return storeMsg(err)
	}
	h.reconcileDestination(r.Context(), ChangeCreated, in)
	return h.answerDestination(w, r, in.Name)
}

// replaceDestination (PUT) replaces a destination; its filepath.mode cannot change (Kratix makes it immutable:
// files already written would be left at the old mode's paths).
func (h *Handler) replaceDestination(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("id")
	in, err := decodeDestination(r)
	if err != nil {
		return err
	}
	if err := matchName(&in.Name, name, "destination"); err != nil {
		return err
	}
	stored, err := h.destination(r.Context(), name)
	if err != nil {
		return err
	}
	if err := in.Validate(); err != nil {
		return err
	}
	in.Default()
	if in.Filepath.Mode != stored.Filepath.Mode {
		return api.Invalidf("filepath.mode is immutable: destination %q is %s", name, stored.Filepath.Mode)
	}
	if err := h.st.UpdateDestination(r.Context(), in); err != nil {
		return storeMsg(err)
	}
	h.reconcileDestination(r.Context(), ChangeUpdated, in)
	return h.answerDestination(w, r, name)
}

func (h *Handler) deleteDestination(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("id")
	d, err := h.destination(r.Context(), name)
	if err != nil {
		return err
	}
	if dr, ok := h.reconciler.(DestinationReconciler); ok && dryRunFrom(r.Context()) == nil {
		// cleanup all: the files written to it go first; if they cannot, the destination stays (retry the delete).
		if err := dr.ReconcileDestination(r.Context(), ChangeDeleting, d); err != nil {
			return fmt.Errorf("destination %q: remove its files: %w", name, err)
		}
	}
	if err := h.st.DeleteDestination(r.Context(), name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("destination %q not found", name)
		}
		return err
	}
	h.reconcileDestination(r.Context(), ChangeDeleted, d)
	writeJSON(w, http.StatusOK, msg{Msg: "destination deleted successfully"})
	return nil
}

func (h *Handler) destination(ctx context.Context, name string) (api.Destination, error) {
	d, err := h.st.GetDestination(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return api.Destination{}, notFound("destination %q not found", name)
	}
	return d, err
}

func (h *Handler) answerDestination(w http.ResponseWriter, r *http.Request, name string) error {
	d, err := h.destination(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// storeMsg shows the client the store's own message of a conflict or an invalid reference ("state store "git"
// is used by 2 destinations"): those messages are final and name only what the request named, or count.
func storeMsg(err error) error {
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrInvalid) {
		return withMsg(err, "%s", conflictDetail(err, "conflict"))
	}
	return err
}
