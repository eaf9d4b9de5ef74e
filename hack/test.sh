#!/usr/bin/env bash
# Runs every test of runplane. On a fresh Debian machine with Go it first installs what the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v git >/dev/null 2>&1 || need+=(git)
# Go fetches modules over TLS.
[ -s /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
# The race detector needs cgo, so a C compiler (the build itself is pure Go).
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
if ((${#need[@]})); then
	echo "installing: ${need[*]}"
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

export GOFLAGS="${GOFLAGS:--buildvcs=false}"
export GOTOOLCHAIN=local

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== go mod tidy"
go mod tidy -diff
echo "== go vet"
go vet ./...
echo "== go test -race"
CGO_ENABLED=1 go test -race -count=1 -timeout 20m ./...
