#!/usr/bin/env bash
# Regenerates go.mod and go.sum of this tools module, which builds the helm CLI of the harness
# (hack/kube/cluster.sh) from the Go module proxy. Run it only to change the helm version, then commit both
# files and set HELM_VERSION in hack/kube/cluster.sh; the harness builds with -mod=readonly.
#
#   hack/kube/helmbuild/gen.sh v3.17.4
#
# Pick a version the proxy serves (`go list -m -versions helm.sh/helm/v3`) whose k8s.io modules match the
# cluster's minor version (helm v3.17.x uses k8s.io/client-go v0.32).
set -euo pipefail
hv=${1:?usage: gen.sh v3.X.Y}
cd "$(dirname "$0")"
printf 'module github.com/runplane/runplane/hack/kube/helmbuild\n\ngo 1.24\n' >go.mod
rm -f go.sum
GOFLAGS=-buildvcs=false GOTOOLCHAIN=local go get -tool "helm.sh/helm/v3/cmd/helm@$hv"
echo "go.mod and go.sum written for helm $hv"
