package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/trigger/events"
)

// Events takes CloudEvents in; *events.Dispatcher implements it.
type Events interface {
	// Accept stores the events (each once: a duplicate's entry says so) and has them dispatched.
	Accept(ctx context.Context, evs []api.Event) ([]api.EventAccepted, error)
}

var _ Events = (*events.Dispatcher)(nil)

// CloudEvents are posted in any mode of the CloudEvents HTTP binding (binary, structured, batched) and addressed
// by their id (and ?source= when several sources used one id). RBAC names an event by its source: write on
// events of a source posts them, read lists them. Every event of a request is checked before any is stored.

func (h *Handler) postEvents(w http.ResponseWriter, r *http.Request) error {
	if h.evin.events == nil {
		return withMsg(store.ErrUnavailable, "events are not accepted on this server")
	}
	// Read first: the body is bounded (413), and the SDK would hide that error.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if isBodyError(err) {
			return err
		}
		return api.Invalidf("read request body: %v", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	evs, err := events.ParseHTTP(r)
	if err != nil {
		return err
	}
	for _, e := range evs {
		if !may(r.Context(), api.AccessWrite, api.ResourceEvents, e.Source) {
			return withMsg(ErrForbidden, "forbidden: write access to events of source %q required", e.Source)
		}
	}
	if len(evs) == 1 {
		setTarget(w, evs[0].ID)
	}
	acc, err := h.evin.events.Accept(r.Context(), evs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, api.EventsAccepted{Msg: api.EventsAcceptedMsg, Events: acc})
	return nil
}

// listEvents lists stored events, received and produced, newest first: ?type, ?source, ?since (RFC 3339), and
// ?limit/?offset; only the sources the caller may read.
func (h *Handler) listEvents(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r, 0, 0)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.EventFilter{Type: q.Get("type"), Source: q.Get("source"), Sources: readableIDs(r, api.ResourceEvents),
		Limit: page.limit, Offset: page.offset}
	if s := q.Get("since"); s != "" {
		if f.Since, err = time.Parse(time.RFC3339, s); err != nil {
			return api.Invalidf("since: %q is not an RFC 3339 time", s)
		}
	}
	list, total, err := h.st.ListEvents(r.Context(), f)
	if err != nil {
		return err
	}
	writeList(w, "events", list, span{from: page.offset, to: page.offset + len(list)}, total)
	return nil
}

// getEvent answers the event of the id (?source= picks among sources; else the last received).
func (h *Handler) getEvent(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	e, err := h.st.GetEvent(r.Context(), r.URL.Query().Get("source"), id)
	if err == nil && !may(r.Context(), api.AccessRead, api.ResourceEvents, e.Source) {
		err = store.ErrNotFound // what the caller may not read does not exist for them
	}
	if errors.Is(err, store.ErrNotFound) {
		return notFound("event %q not found", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

// eventsIn is how the API takes events in: the inbox, and whether rules may ask for privileged tasks.
type eventsIn struct {
	events     Events
	privileged bool
}
