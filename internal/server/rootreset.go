package server

import (
	"context"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
)

// recordRootReset writes the audit entry of a root password reset at start: done by the server's operator, who
// is no user of runplane, so the entry names the configuration as its source.
func (s *Server) recordRootReset(ctx context.Context) {
	e := api.AuditLog{
		Username:      "(server configuration)",
		Provider:      api.ProviderLocal,
		EventType:     "update",
		EventCategory: api.ResourceUsers,
		EventTarget:   auth.RootUser,
		Status:        api.AuditSuccess,
		Reason:        "root's password reset by --reset-root-password",
		Source:        "serve --reset-root-password",
		CreateTime:    time.Now().UTC(),
	}
	if err := s.store.AppendAudit(ctx, e); err != nil {
		s.log.Error("audit the root password reset", "err", err)
	}
}
