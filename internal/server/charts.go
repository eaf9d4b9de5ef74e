package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/chart/helmchart"
	"github.com/runplane/runplane/internal/store"
)

// chartFetcher reads the charts of CompositionDefinitions. In embedded mode a passwordRef names a runner's
// secret: passwordRef.name the runner, passwordRef.key the key (its namespace is not used).
func chartFetcher(st store.Runners) helmchart.Fetcher {
	return helmchart.Fetcher{Password: func(ctx context.Context, ref api.SecretKeySelector, _ string) (string, error) {
		r, err := st.GetRunner(ctx, ref.Name)
		if errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("runner %q not found", ref.Name)
		}
		if err != nil {
			return "", err
		}
		v, ok := r.Secret[ref.Key]
		if !ok {
			return "", fmt.Errorf("runner %q has no secret %q", ref.Name, ref.Key)
		}
		return v, nil
	}}
}
