package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/platform/kubemirror"
	"github.com/runplane/runplane/internal/store"
)

// openKubeAPI makes the mirror that serves platform resources as Kubernetes objects (Config.KubeAPI), acting as
// root — the server's service identity: whoever may write these kinds in the cluster was authorized by the
// cluster's RBAC, and runplane's own checks still run on every write. Nil when KubeAPI and InstallCRDs are off.
func (s *Server) openKubeAPI(authn *auth.Authenticator, log *slog.Logger) (*kubemirror.Mirror, error) {
	if !s.cfg.KubeAPI && !s.cfg.InstallCRDs {
		return nil, nil
	}
	rc, err := clusterConfig(s.cfg)
	if err != nil {
		return nil, fmt.Errorf("server: kubernetes API: load configuration: %w", err)
	}
	rc.QPS, rc.Burst, rc.UserAgent = 100, 200, "runplane" // as the kubernetes executor's client
	m, err := kubemirror.New(kubemirror.Options{
		Config:      rc,
		API:         s.api,
		Store:       s.store,
		InstallCRDs: s.cfg.InstallCRDs,
		Logger:      log,
		Token: func(ctx context.Context) (string, error) {
			root, err := s.store.GetUserByName(ctx, "local", auth.RootUser)
			if err != nil {
				return "", err
			}
			p, err := authn.PrincipalOf(ctx, root.ID)
			if err != nil {
				return "", err
			}
			return authn.Issue(p)
		},
	})
	if err != nil {
		return nil, err
	}
	s.kubeChanges.Store(m)
	return m, nil
}

// platformStore is the store the writers of platform resources (the REST API, the promise controller, the
// composer) get: with the mirror on, one that tells it of each change, by key, once openKubeAPI made it.
func (s *Server) platformStore() store.Store {
	if !s.cfg.KubeAPI && !s.cfg.InstallCRDs {
		return s.store
	}
	return kubemirror.Notifying(s.store, func(r kubemirror.Ref) {
		if m := s.kubeChanges.Load(); m != nil {
			m.Changed(r)
		}
	})
}

var _ kubemirror.Store = store.Store(nil)
