package httpapi

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// Event sinks are addressed by name. A header's secret is only ever named (runner and key): saving a sink that
// names one needs write access to that runner — the sink sends its secret to the sink's URL — and the runner
// must have the key (400 otherwise). No answer carries a secret's value.

func (h *Handler) eventSinkRoutes() []route {
	const path = apiPrefix + "/event_sinks"
	rt := routesOf(api.ResourceEventSinks, "id")
	return []route{
		rt("GET", path, List, h.listEventSinks),
		rt("POST", path, Create, h.createEventSink),
		rt("GET", path+"/{id}", Object, h.getEventSink),
		rt("PUT", path+"/{id}", Object, h.replaceEventSink),
		rt("DELETE", path+"/{id}", Object, h.deleteEventSink),
	}
}

func (h *Handler) listEventSinks(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r, 0, 0)
	if err != nil {
		return err
	}
	all, err := h.st.ListEventSinks(r.Context())
	if err != nil {
		return err
	}
	all = keep(all, readable(r.Context(), api.ResourceEventSinks), func(s api.EventSink) string { return s.Name })
	s := page.slice(len(all))
	writeList(w, "event_sinks", all[s.from:s.to], s, len(all))
	return nil
}

func (h *Handler) getEventSink(w http.ResponseWriter, r *http.Request) error {
	s, err := h.eventSink(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

func (h *Handler) createEventSink(w http.ResponseWriter, r *http.Request) error {
	var in api.EventSink
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	setTarget(w, in.Name)
	if err := mustMay(r.Context(), api.AccessWrite, api.ResourceEventSinks, in.Name); err != nil {
		return err
	}
	if err := h.checkEventSink(r.Context(), &in, nil); err != nil {
		return err
	}
	if err := h.st.CreateEventSink(r.Context(), in); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return withMsg(err, "event sink %q already exists", in.Name)
		}
		return err
	}
	return h.answerEventSink(w, r, in.Name)
}

// replaceEventSink (PUT) replaces the sink. Deliveries still due go to its new URL with its new headers.
func (h *Handler) replaceEventSink(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("id")
	var in api.EventSink
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	if err := matchName(&in.Name, name, "event sink"); err != nil {
		return err
	}
	stored, err := h.eventSink(r.Context(), name)
	if err != nil {
		return err
	}
	if err := h.checkEventSink(r.Context(), &in, &stored); err != nil {
		return err
	}
	if err := h.st.UpdateEventSink(r.Context(), in); err != nil {
		return err
	}
	return h.answerEventSink(w, r, name)
}

func (h *Handler) deleteEventSink(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("id")
	if err := h.st.DeleteEventSink(r.Context(), name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("event sink %q not found", name)
		}
		return err
	}
	writeJSON(w, http.StatusOK, msg{Msg: "event sink deleted successfully"})
	return nil
}

func (h *Handler) eventSink(ctx context.Context, name string) (api.EventSink, error) {
	s, err := h.st.GetEventSink(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return api.EventSink{}, notFound("event sink %q not found", name)
	}
	return s, err
}

func (h *Handler) answerEventSink(w http.ResponseWriter, r *http.Request, name string) error {
	s, err := h.eventSink(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

// checkEventSink validates s and the secrets its headers name: the caller needs write access to each runner
// named (403), which must exist and have the key (400). What the stored sink prev named already needs nothing new.
func (h *Handler) checkEventSink(ctx context.Context, s *api.EventSink, prev *api.EventSink) error {
	if s.Types == nil {
		s.Types = []string{}
	}
	if err := s.Validate(); err != nil {
		return err
	}
	names := make([]string, 0, len(s.Headers))
	for name := range s.Headers {
		names = append(names, name)
	}
	slices.Sort(names) // the first problem reported is always the same one
	for _, name := range names {
		ref := s.Headers[name].SecretRef
		if ref == nil {
			continue
		}
		if prev != nil && slices.ContainsFunc(mapValues(prev.Headers), func(v api.HeaderValue) bool {
			return v.SecretRef != nil && *v.SecretRef == *ref
		}) {
			continue
		}
		if !may(ctx, api.AccessWrite, api.ResourceRunners, ref.Runner) {
			return withMsg(ErrForbidden, "forbidden: headers.%s names a secret of runner %q, which needs write access to it",
				name, ref.Runner)
		}
		runner, err := h.st.GetRunner(ctx, ref.Runner)
		if errors.Is(err, store.ErrNotFound) {
			return api.Invalidf("headers.%s.secretRef: runner %q not found", name, ref.Runner)
		}
		if err != nil {
			return err
		}
		if _, ok := runner.Secret[ref.Key]; !ok {
			return api.Invalidf("headers.%s.secretRef: runner %q has no secret %q", name, ref.Runner, ref.Key)
		}
	}
	return nil
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
