package kubeexec

import (
	"fmt"

	"k8s.io/client-go/tools/clientcmd"
)

// Connect returns a client for the cluster kubectl would use, and that configuration's namespace: the kubeconfig
// file named (else $KUBECONFIG, else ~/.kube/config), or, in a pod without one, the pod's service account and
// namespace.
func Connect(kubeconfig string) (*Client, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubernetes: load configuration: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("kubernetes: namespace: %w", err)
	}
	// Bursts of jobs are a few requests each; client-go's default of 5 per second would queue them.
	rc.QPS, rc.Burst = 100, 200
	rc.UserAgent = "runplane"
	client, err := NewClient(rc)
	if err != nil {
		return nil, "", err
	}
	return client, ns, nil
}
