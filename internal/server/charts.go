package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/chart/composer"
	"github.com/runplane/runplane/internal/platform/chart/helmchart"
	helmrelease "github.com/runplane/runplane/internal/platform/chart/helmchart/release"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/store"
)

// chartFetcherFor is chartFetcher, reading passwordRefs from Kubernetes Secrets when the server runs with a
// cluster (cs not nil).
func chartFetcherFor(cs kubernetes.Interface, st store.Runners) helmchart.Fetcher {
	if cs == nil {
		return chartFetcher(st)
	}
	return helmchart.Fetcher{Password: helmchart.SecretPassword(cs)}
}

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

// imageBinary is runplane's binary in its image (hack/image).
const imageBinary = "/usr/local/bin/runplane"

// newComposer makes what installs Krateo compositions' releases: runs of `runplane helm` (this binary; on the
// Kubernetes executor, the one in runplane's image) with the cluster of --kubeconfig. Without an explicit --kubeconfig, compositions are stored and their status says no
// cluster is configured (the in-cluster identity comes with the Kubernetes mode).
func newComposer(cfg Config, st store.Store, rs *runs.Engine, charts helmchart.Fetcher, log *slog.Logger) (*composer.Composer, error) {
	var kubeconfig []byte
	var access composer.Access
	switch {
	case cfg.Kubeconfig != "":
		b, err := os.ReadFile(cfg.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("server: read the kubeconfig for compositions: %w", err)
		}
		rc, err := clientcmd.RESTConfigFromKubeConfig(b)
		if err != nil {
			return nil, fmt.Errorf("server: the kubeconfig for compositions: %w", err)
		}
		a, err := helmrelease.NewAccess(rc)
		if err != nil {
			return nil, fmt.Errorf("server: the kubeconfig for compositions: %w", err)
		}
		kubeconfig, access = b, a
	case secretsInCluster(cfg):
		// A server with a cluster and no --kubeconfig (the Helm chart's, in the cluster): its own configuration
		// makes each definition's ServiceAccount; steps get only that account's token, never the server's.
		rc, err := clusterConfig(cfg)
		if err != nil {
			return nil, fmt.Errorf("server: the cluster for compositions: %w", err)
		}
		if access, err = helmrelease.NewAccess(rc); err != nil {
			return nil, fmt.Errorf("server: the cluster for compositions: %w", err)
		}
	}
	exe, image := imageBinary, ""
	if cfg.Executor == ExecutorKubernetes {
		// The step is a pod: runplane's own image (the job image), and the binary in it, not this process's path.
		image = cfg.JobImage
	} else {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("server: find this binary, for composition jobs: %w", err)
		}
	}
	return composer.New(st, rs, charts, composer.Options{Kubeconfig: kubeconfig, Access: access, Command: []string{exe, helmrelease.StepArg},
		Image: image, Logger: log}), nil
}
