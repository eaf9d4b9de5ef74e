#!/usr/bin/env bash
# The benchmarks of the README: sync round trip and async throughput, each beside a bare `sh -c true` spawn
# measured in the same run; then both on SQLite and on PostgreSQL with one and three replicas, side by side (these
# need Debian's postgresql package, as hack/test.sh installs; without it they are skipped); then workflow runs,
# each beside the same jobs submitted by a client; then webhook delivery latency beside job submissions, events dispatched to 100 rule sets beside async job
# submissions, and the events fault tests (kill -9 under events and webhook deliveries; a sink down for 30 s).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
# BASELINE=<git ref>: build runplane at that ref too and measure it beside this tree, interleaved (the sync and
# throughput benchmarks report both and their ratio; the workflow benchmarks, both runs).
if [ -n "${BASELINE:-}" ]; then
	base=$(mktemp -d)
	trap 'rm -rf "$base"' EXIT
	git archive "$BASELINE" | tar -x -C "$base"
	(cd "$base" && go build -o "$base/runplane-baseline" ./cmd/runplane)
	export RUNPLANE_BENCH_BASELINE="$base/runplane-baseline"
fi
go test -run '^$' -bench 'BenchmarkSync$' -benchtime "${SYNC_N:-500}x" ./test/e2e/
go test -run '^$' -bench 'BenchmarkSyncSinks$' -benchtime "${SYNC_N:-300}x" ./test/e2e/
go test -run '^$' -bench 'BenchmarkThroughput$' -benchtime 1x -timeout 30m ./test/e2e/
go test -run '^$' -bench 'BenchmarkStoresSync$' -benchtime "${SYNC_N:-500}x" ./test/e2e/
go test -run '^$' -bench 'BenchmarkStoresThroughput$' -benchtime "${ROUNDS:-3}x" -timeout 30m ./test/e2e/
go test -run '^$' -bench 'BenchmarkWorkflowSerial$' -benchtime "${WF_N:-30}x" ./test/e2e/
go test -run '^$' -bench 'BenchmarkWorkflowThroughput$' -benchtime "${ROUNDS:-3}x" -timeout 30m ./test/e2e/
go test -run '^$' -bench 'BenchmarkWebhookLatency$' -benchtime "${SYNC_N:-300}x" ./test/e2e/
go test -run '^$' -bench 'BenchmarkEventsDispatch$' -benchtime "${ROUNDS:-3}x" -timeout 30m ./test/e2e/
go test -run '^(TestEventsCrashSafety|TestEventsReplicaCrash|TestSinkDown30s)$' -count=1 -v ./test/e2e/ | grep -v '^\s*time='
