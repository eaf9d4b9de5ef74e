package server

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// secretsInCluster says whether the secrets resources reference are Kubernetes Secrets — a GitStateStore's
// secretRef (as Kratix reads it), a CompositionDefinition's passwordRef (as core-provider reads it): when the
// server runs with a cluster (the Kubernetes executor, or the Kubernetes API served). Otherwise they name runners'
// secrets.
func secretsInCluster(cfg Config) bool {
	return cfg.Executor == ExecutorKubernetes || cfg.KubeAPI || cfg.InstallCRDs
}

// clusterSecrets is the client Secrets are read with, nil when they are not Kubernetes'.
func clusterSecrets(cfg Config) (kubernetes.Interface, error) {
	if !secretsInCluster(cfg) {
		return nil, nil
	}
	rc, err := clusterConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("server: credentials from Kubernetes Secrets: load configuration: %w", err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("server: credentials from Kubernetes Secrets: %w", err)
	}
	return cs, nil
}

// clusterConfig is how the server reaches its cluster: --kubeconfig, else $KUBECONFIG, the in-cluster configuration,
// then ~/.kube/config.
func clusterConfig(cfg Config) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = cfg.Kubeconfig
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
}
