package server

import (
	"context"
	"fmt"
	"log/slog"

	"k8s.io/client-go/tools/clientcmd"

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
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = s.cfg.Kubeconfig
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("server: kubernetes API: load configuration: %w", err)
	}
	rc.QPS, rc.Burst, rc.UserAgent = 50, 100, "runplane"
	return kubemirror.New(kubemirror.Options{
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
}

var _ kubemirror.Store = store.Store(nil)
