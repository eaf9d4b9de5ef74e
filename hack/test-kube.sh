#!/usr/bin/env bash
# Runs runplane's Kubernetes end-to-end tests against a fresh single-node cluster (hack/kube/cluster.sh), then
# tears the cluster down whatever happened, keeping the tests' exit code. Runs as root or through sudo.
#
#   hack/test-kube.sh                        # cluster up -> go test -> cluster down
#   KEEP=1 hack/test-kube.sh                 # leaves the cluster up (hack/kube/cluster.sh down stops it)
#   GOTESTFLAGS='-v -run TestX' hack/test-kube.sh
#
# The first run on a machine builds Kubernetes and helm from the Go module proxy (~8-10 min on one core) and
# caches them in ${RUNPLANE_K8S_HOME:-$HOME/.cache/runplane-k8s}; later runs take well under a minute of overhead.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
export GOTOOLCHAIN=local

cluster=hack/kube/cluster.sh
t_start=$SECONDS
t_up=0 t_test=0 t_down=0
state_before=""
phase_start=$SECONDS
took() { echo $((SECONDS - phase_start)); }

# shellcheck disable=SC2317 # called by the EXIT trap
finish() {
	local rc=$? down_rc=0
	trap - EXIT INT TERM
	if [ "${KEEP:-0}" = 1 ]; then
		echo "== KEEP=1: the cluster stays up; eval \"\$($cluster env)\" to use it, $cluster down to stop it"
	else
		echo "== cluster down"
		phase_start=$SECONDS
		"$cluster" down || down_rc=$?
		t_down=$(took)
		if [ -n "$state_before" ] && [ "$down_rc" = 0 ]; then
			state_after=$("$cluster" host-state)
			if [ "$state_after" != "$state_before" ]; then
				echo "test-kube: the host is not as it was before the cluster (< before, > after):" >&2
				diff <(echo "$state_before") <(echo "$state_after") >&2 || true
				down_rc=1
			fi
		fi
	fi
	echo "== timings: cluster up ${t_up}s, tests ${t_test}s, cluster down ${t_down}s, total $((SECONDS - t_start))s"
	if [ "$rc" = 0 ] && [ "$down_rc" != 0 ]; then
		echo "test-kube: the tests passed but the cluster did not come down cleanly, or left the host changed ($down_rc)" >&2
		rc=$down_rc
	fi
	exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# What of the host the cluster changes, to check that `down` undoes it all. A cluster left up (KEEP=1) is
# stopped first, as `up` would.
"$cluster" down >/dev/null
state_before=$("$cluster" host-state)

echo "== cluster up"
"$cluster" up
t_up=$(took)
eval "$("$cluster" env)"

# kubemirror starts an API server of its own from the binaries cluster.sh built (internal/kubetest/apiserver).
pkgs=(./internal/executor/kubeexec/... ./test/kube/... ./internal/kubetest/... ./internal/kubesecret/... ./internal/platform/kubemirror/...)
echo "== go test ${pkgs[*]}"
phase_start=$SECONDS
rc=0
# shellcheck disable=SC2086 # GOTESTFLAGS is a list of flags
go test -count=1 -timeout 30m ${GOTESTFLAGS:-} "${pkgs[@]}" || rc=$?
# Krateo compositions as Helm releases, against an API server of their own (TestCompositionReleases,
# TestCompositionResumesAfterRestart, TestCompositionsInCluster; the release step's grants and discovery).
go test -count=1 -timeout 15m -run '^TestComposition|^TestSecretPassword|^TestGitStoreSecretInCluster|^TestAccessReusesAGrant|^TestStepWithDiscovery' \
	./internal/server/ ./internal/platform/chart/helmchart/... || rc=$?
# GitStateStores whose secretRef names a Kubernetes Secret, against an API server of their own.
go test -count=1 -timeout 15m -run '^TestGitStoreKubeSecret' ./internal/platform/controller/ || rc=$?
t_test=$(took)
exit "$rc"
