// Package kube holds runplane's tests against a real Kubernetes cluster: servers with the Kubernetes executor and
// the Helm chart installed into the cluster. make test-kube (hack/test-kube.sh) brings a cluster up and runs them;
// without RUNPLANE_KUBE_TEST=1 they are skipped. It has no code of its own.
package kube
