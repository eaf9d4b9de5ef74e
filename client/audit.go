package client

import (
	"context"
	"net/url"
	"strconv"

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

// GetAuditLog returns one audited event by id; ErrNotFound if there is none.
func (c *Client) GetAuditLog(ctx context.Context, id string) (api.AuditLog, error) {
	return getJSON[api.AuditLog](ctx, c, "/audit_logs/"+seg(id), nil)
}
