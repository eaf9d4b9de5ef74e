#!/usr/bin/env bash
# Regenerates go.mod and go.sum of this tools module, which builds the Kubernetes binaries of the harness
# (hack/kube/cluster.sh) from the Go module proxy. Run it only to change the Kubernetes version, then commit
# both files; the harness itself never changes them (it builds with -mod=readonly).
#
#   hack/kube/kbuild/gen.sh v1.32.2
#
# The k8s.io/kubernetes module zip leaves out staging/, so every staging module needs a replace to its
# v0.Y.Z release. The proxy this project uses is a partial mirror: check first that all of them exist
# (`go list -m k8s.io/cri-client@v0.32.2` and so on); v1.32.2 is complete, v1.32.13 is not.
set -euo pipefail
kv=${1:?usage: gen.sh v1.X.Y}
sv=v0.${kv#v1.}
cd "$(dirname "$0")"
staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider cluster-bootstrap
	code-generator component-base component-helpers controller-manager cri-api cri-client csi-translation-lib
	dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy
	kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission sample-apiserver)
{
	printf 'module github.com/runplane/runplane/hack/kube/kbuild\n\ngo 1.23.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$kv"
	for m in "${staging[@]}"; do printf '\tk8s.io/%s => k8s.io/%s %s\n' "$m" "$m" "$sv"; done
	printf ')\n'
} >go.mod
rm -f go.sum
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
pkgs=()
for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl kube-proxy; do
	pkgs+=("k8s.io/kubernetes/cmd/$b@$kv")
done
go get "${pkgs[@]}"
echo "go.mod and go.sum written for $kv; hack/kube/lib.sh must name the same version (KUBE_VERSION)"
