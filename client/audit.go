package client

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/runplane/runplane/api"
)

// ListAuditLogs returns audited events, newest first: at most max of them (0: the server's default).
// ErrForbidden without read access to audit_logs.
func (c *Client) ListAuditLogs(ctx context.Context, max int) ([]api.AuditLog, error) {
	var q url.Values
	if max > 0 {
		q = url.Values{"max": {strconv.Itoa(max)}}
	}
	return getJSON[[]api.AuditLog](ctx, c, "/audit_logs", q)
}

// AuditLogOptions select and page audited events. The zero value selects every event the caller may read.
type AuditLogOptions struct {
	User        string // a username or user id
	EventType   string // create, update, delete, run, cancel, login, logout, ...
	EventTarget string
	Category    string // the resource acted on, or "auth"
	Status      string // api.AuditSuccess, api.AuditFailure or api.AuditDenied
	// Since and Until bound the creation time: at or after Since, before Until; zero is no bound.
	Since, Until time.Time
	// Limit is the page size (0: the server's default, 100; at most 10,000); Offset skips that many of the newest.
	Limit, Offset int
}

func (o AuditLogOptions) query() url.Values {
	q := url.Values{}
	setNonEmpty(q, "user", o.User)
	setNonEmpty(q, "event_type", o.EventType)
	setNonEmpty(q, "event_target", o.EventTarget)
	setNonEmpty(q, "event_category", o.Category)
	setNonEmpty(q, "status", o.Status)
	return pageQuery(q, o.Since, o.Until, o.Limit, o.Offset)
}

// ListAuditLogsPage returns one page of the audited events o selects, newest first, and how many o selects in
// all (-1 from a server that does not say). ErrForbidden without read access to audit_logs.
func (c *Client) ListAuditLogsPage(ctx context.Context, o AuditLogOptions) ([]api.AuditLog, int, error) {
	return listPage[api.AuditLog](ctx, c, "/audit_logs", o.query())
}

// AllAuditLogs returns every audited event o selects, newest first, paging through them o.Limit at a time
// (default 1000); o.Offset is ignored. For an export: every event that existed when it began is returned once.
func (c *Client) AllAuditLogs(ctx context.Context, o AuditLogOptions) ([]api.AuditLog, error) {
	if o.Limit <= 0 {
		o.Limit = 1000
	}
	return pageAll(o.Limit, func(e api.AuditLog) string { return e.ID }, func(offset int) ([]api.AuditLog, error) {
		o.Offset = offset
		es, _, err := c.ListAuditLogsPage(ctx, o)
		return es, err
	})
}

// GetAuditLog returns one audited event by id; ErrNotFound if there is none.
func (c *Client) GetAuditLog(ctx context.Context, id string) (api.AuditLog, error) {
	return getJSON[api.AuditLog](ctx, c, "/audit_logs/"+seg(id), nil)
}
