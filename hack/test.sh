#!/usr/bin/env bash
# Runs every test of runplane. On a fresh Debian machine with Go it first installs what the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v git >/dev/null 2>&1 || need+=(git)
# A git state store over ssh is tested with the ssh client against a server the test starts (TestGitSSH).
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
# Go fetches modules over TLS.
[ -s /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
# The race detector needs cgo, so a C compiler (the build itself is pure Go).
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
# The LDAP tests run their own OpenLDAP server (internal/auth/ldap/ldaptest); they need the slapd binary only.
new_slapd=false
if [ ! -x /usr/sbin/slapd ]; then
	need+=(slapd ldap-utils)
	new_slapd=true
fi
# The PostgreSQL tests run their own server (internal/store/postgres/pgtest); they need the server binaries only.
new_postgres=false
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
	need+=(postgresql)
	new_postgres=true
fi
# The podman executor's tests run containers (internal/executor/podman): podman with runc (crun cannot run on our
# hybrid-cgroup VMs) and a static busybox to build their image from (no registry is reachable).
command -v podman >/dev/null 2>&1 || need+=(podman)
[ -x /usr/sbin/runc ] || need+=(runc)
# Every job container's PID 1 (podman run --init); only a recommendation of podman's package.
[ -x /usr/bin/catatonit ] || need+=(catatonit)
# Workflow steps in the tests and examples call the metadata API with curl, as steps written for Relay do.
command -v curl >/dev/null 2>&1 || need+=(curl)
# The web UI's browser tests (internal/ui) drive Debian's chromium; under CI=true they fail without it.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || need+=(busybox-static)
# Kriten's own pytest API suite (test/e2e TestKritenSuite via hack/kriten-suite.sh) runs where the machine has a copy
# of it (KRITEN_TESTS, or a Kriten git repository at KRITEN_REPO); it needs Debian's python3 with pytest and requests.
if ./hack/kriten-suite.sh --where >/dev/null 2>&1 && ! /usr/bin/python3 -c 'import pytest, requests' 2>/dev/null; then
	need+=(python3-pytest python3-requests)
fi
# Debian's own slapd writes its pid here; the tests never use that server.
system_slapd_running() { [ -s /run/slapd/slapd.pid ] && kill -0 "$(cat /run/slapd/slapd.pid)" 2>/dev/null; }
if ((${#need[@]})); then
	echo "installing: ${need[*]}"
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	slapd_was_running=false
	if $new_slapd; then
		system_slapd_running && slapd_was_running=true
		# Install the binary without creating a system directory (and without asking for its admin password).
		echo "slapd slapd/no_configuration boolean true" | $sudo debconf-set-selections
	fi
	if $new_postgres; then
		# Install the binaries without creating (and starting) the system cluster "main" on port 5432.
		pg_conf_d=/etc/postgresql-common/createcluster.d
		[ -d $pg_conf_d ] && made_pg_conf_d=false || made_pg_conf_d=true
		$sudo mkdir -p $pg_conf_d
		echo "create_main_cluster = false" | $sudo tee $pg_conf_d/runplane-test.conf >/dev/null
	fi
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
	if $new_postgres; then
		$sudo rm -f $pg_conf_d/runplane-test.conf
		if $made_pg_conf_d; then $sudo rmdir $pg_conf_d 2>/dev/null || true; fi
		# No PostgreSQL server was installed before, so any cluster running now was started by this install.
		if command -v pg_lsclusters >/dev/null 2>&1; then
			pg_lsclusters -h | while read -r version cluster _ status _; do
				case $status in online*)
					echo "stopping the system PostgreSQL cluster $version/$cluster the package started (the tests run their own)"
					$sudo pg_ctlcluster "$version" "$cluster" stop || true ;;
				esac
			done || true
		fi
	fi
	if $new_slapd && ! $slapd_was_running && system_slapd_running; then
		echo "stopping the system slapd the package started (the tests run their own)"
		$sudo invoke-rc.d slapd stop >/dev/null 2>&1 || $sudo service slapd stop >/dev/null 2>&1 || true
	fi
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
# The browser tests' screenshots of every page are kept here (the CI's artifacts).
export RUNPLANE_UI_ARTIFACTS="${RUNPLANE_UI_ARTIFACTS:-$PWD/artifacts/ui}"
CGO_ENABLED=1 go test -race -count=1 -timeout 20m ./...
echo "screenshots of the web UI: $RUNPLANE_UI_ARTIFACTS"
# The Kubernetes executor end to end, on a single-node cluster of its own (hack/kube/cluster.sh; as root or via
# sudo; the first run builds Kubernetes from the Go module proxy, ~10 min, then it is cached). RUNPLANE_SKIP_KUBE=1 skips it.
if [ "${RUNPLANE_SKIP_KUBE:-0}" = 1 ]; then
	echo "== Kubernetes end-to-end tests skipped (RUNPLANE_SKIP_KUBE=1)"
else
	echo "== Kubernetes end-to-end tests (hack/test-kube.sh)"
	./hack/test-kube.sh
fi
