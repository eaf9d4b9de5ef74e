package httpapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/audit"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/inproc"
	"github.com/runplane/runplane/internal/rbac"
	"github.com/runplane/runplane/internal/store"
)

// Audit events: every mutation through the API and every login attempt. Entries carry names, ids, outcomes and
// the public error message, never a request body, so no password, token or secret value can reach them, and every
// field is bounded (audit.Bound). A mutation's entry commits with its change (store.WithAudit): a change that is
// stored is recorded, even if the process dies the next instant.

// auditEntry is the entry recording a mutation by p that succeeds, as far as the request tells (the object it
// creates is named later, by setTarget or the store).
func auditEntry(r *http.Request, rt Route, p auth.Principal) api.AuditLog {
	e := api.AuditLog{
		UserID:        p.UserID,
		Username:      p.Username,
		Provider:      p.Provider,
		EventType:     eventType(r, rt),
		EventCategory: rt.Resource,
		Source:        sourceAddr(r),
	}
	if e.EventCategory == "" {
		e.EventCategory = "auth"
	}
	if rt.Param != "" {
		e.EventTarget = r.PathValue(rt.Param)
	}
	e.Status = api.AuditSuccess
	return audit.Bound(e)
}

// auditRequest records the outcome of a mutation by p unless the store wrote it with the change. err is what the
// handler (or its authorization) returned; a handler that failed after a change committed gets a second entry
// saying so.
func (h *Handler) auditRequest(w http.ResponseWriter, r *http.Request, rt Route, p auth.Principal, pending *store.PendingAudit, err error) {
	if pending.Written() && err == nil {
		return
	}
	e := auditEntry(r, rt, p)
	if sw, ok := w.(*statusWriter); ok && sw.target != "" {
		e.EventTarget = sw.target
	}
	e.Status, e.Reason = outcome(err)
	// Recorded even if the client has gone: the entry is about what the server did.
	h.audit.Record(context.WithoutCancel(r.Context()), e)
}

// auditLogin records a login attempt for user (id userID when known). A refused (throttled) attempt is counted
// into one entry per user, address and window: a flood of them costs the log one line a minute.
func (h *Handler) auditLogin(r *http.Request, in api.Login, userID string, err error) {
	e := api.AuditLog{UserID: userID, Username: in.Username, Provider: in.Provider, EventType: "login",
		EventCategory: "auth", EventTarget: in.Username, Source: sourceAddr(r)}
	if e.Provider == "" {
		e.Provider = api.ProviderLocal
	}
	e.Status, e.Reason = outcome(err)
	ctx := context.WithoutCancel(r.Context())
	var refused *auth.ThrottledError
	if errors.As(err, &refused) {
		h.audit.RecordRefused(ctx, e)
		return
	}
	h.audit.Record(ctx, e)
}

// outcome is an audit status and reason for a handler's error.
func outcome(err error) (status, reason string) {
	switch {
	case err == nil:
		return api.AuditSuccess, ""
	case errors.Is(err, ErrForbidden):
		_, body := classify(err)
		return api.AuditDenied, body.Error
	default:
		_, body := classify(err)
		return api.AuditFailure, body.Error
	}
}

func eventType(r *http.Request, rt Route) string {
	switch {
	case rt.Resource == api.ResourceJobs && rt.Param == "task":
		return "run"
	case strings.HasSuffix(rt.Path, "/cancel"):
		return "cancel"
	case strings.HasSuffix(rt.Path, "/logout"):
		return "logout"
	// Requests are addressed by their promise: a POST to it creates one, a DELETE removes the one named.
	case (rt.Resource == api.ResourceResources || rt.Resource == api.ResourceCompositions) && r.Method == http.MethodPost:
		return "create"
	case (rt.Resource == api.ResourceResources || rt.Resource == api.ResourceCompositions) && r.Method == http.MethodDelete:
		return "delete"
	case rt.Authz == Create || (rt.Resource == api.ResourceAPITokens && rt.Authz == Authenticated),
		rt.Resource == api.ResourceWebhooks && rt.Authz == Authenticated && rt.Param == "":
		return "create"
	case r.Method == http.MethodDelete && rt.Param != "" && strings.HasSuffix(rt.Path, "{"+rt.Param+"}"):
		return "delete"
	}
	return "update"
}

// setTarget names, for the audit log, the object a handler created (its path did not name it).
func setTarget(w http.ResponseWriter, target string) {
	if sw, ok := w.(*statusWriter); ok {
		sw.target = target
		sw.pending.SetTarget(target)
	}
}

// sourceAddr is the client's address as this server saw it. Forwarded headers are not trusted: a client could set
// them to anything.
func sourceAddr(r *http.Request) string {
	if c := inproc.Caller(r.Context()); c != "" {
		return c // an in-process call: the part of the server that made it (the Kubernetes mirror)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Paging of GET /audit_logs.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 10_000
)

// listAudit answers audit entries newest first, a page at a time (?limit, default 100, at most 10,000; ?offset),
// filtered (auditQuery: ?user, ?event_type, ?event_category, ?event_target, ?status, ?since, ?until) and always to
// the entries the caller may read; Content-Range carries the total of that filtered set, so a client can page
// through all of it. Kriten's ?max=N is ?limit=N.
func (h *Handler) listAudit(w http.ResponseWriter, r *http.Request) error {
	pg, err := auditPage(r)
	if err != nil {
		return err
	}
	f, err := auditQuery(r.URL.Query(), time.Now())
	if err != nil {
		return err
	}
	f.Limit, f.Offset = pg.limit, pg.offset
	f.IDs = readableIDs(r, api.ResourceAuditLogs)
	list, total, err := h.st.FindAudit(r.Context(), f)
	if err != nil {
		return err
	}
	writeList(w, "audit_logs", list, span{from: pg.offset}, total)
	return nil
}

// auditPage reads ?limit and ?offset, or Kriten's ?max.
func auditPage(r *http.Request) (page, error) {
	if !r.URL.Query().Has("max") {
		return parsePage(r, defaultAuditLimit, maxAuditLimit)
	}
	if r.URL.Query().Has("limit") {
		return page{}, api.Invalidf("query parameters max and limit: give one (max is Kriten's name for limit)")
	}
	n, err := queryInt(r, "max", defaultAuditLimit)
	if err != nil {
		return page{}, err
	}
	if n <= 0 || n > maxAuditLimit {
		return page{}, api.Invalidf("query parameter max=%d: want 1 to %d", n, maxAuditLimit)
	}
	offset, err := queryInt(r, "offset", 0)
	return page{limit: n, offset: offset}, err
}

// readableIDs is the filter that keeps a list of resource to the ids the caller may read: nil when they may read
// every object of it.
func readableIDs(r *http.Request, resource string) []string {
	p, _ := auth.PrincipalFrom(r.Context())
	if rbac.Allow(p.Grants, api.AccessRead, resource, "") {
		return nil
	}
	ids := []string{}
	for _, g := range p.Grants {
		if g.Resource == resource || g.Resource == api.ResourceAll {
			ids = append(ids, g.ResourceIDs...)
		}
	}
	return ids
}

func (h *Handler) getAudit(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	e, err := h.st.GetAudit(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return withMsg(err, "audit log %q not found", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}
