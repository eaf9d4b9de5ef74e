#!/usr/bin/env bash
# runplane's own single-node Kubernetes (v1.32.2) for the end-to-end tests: Debian's containerd, runc, etcd and
# CNI plugins, and Kubernetes and helm built from the Go module proxy (cached as tarballs after the first build).
#
#   hack/kube/cluster.sh up        # packages, binaries, helm, images, PKI, then a fresh cluster (a previous one is
#                                  # stopped first); prints the time of each phase
#   hack/kube/cluster.sh down      # stops the cluster and undoes its changes to the host; safe to run twice
#   hack/kube/cluster.sh status    # which processes run, the node; exit 0 only when everything runs
#   hack/kube/cluster.sh host-state  # what of the host the cluster changes, to compare before `up` and after `down`
#   eval "$(hack/kube/cluster.sh env)"   # KUBECONFIG and the RUNPLANE_KUBE_* variables of the tests
#   hack/kube/cluster.sh image     # rebuilds runplane's image and imports it into the running cluster
#   hack/kube/cluster.sh tools     # only the Kubernetes binaries and helm, no cluster (needs no root)
#   RUNPLANE_KUBE_SKIP_IMAGE=1 hack/kube/cluster.sh up   # without runplane's image (when the tree doesn't build)
#
# Everything lives under ${RUNPLANE_K8S_HOME:-$HOME/.cache/runplane-k8s}: bin/ (kubectl, helm, ...),
# pki/admin.kubeconfig, logs/ (one log per component), run/ (pidfiles, etcd, containerd, kubelet state),
# k8s-bins-v1.32.2.tar.zst and helm-v3.17.4.tar.zst (the build caches: keep them; CI can cache them too).
# The Go caches of the builds are gomodcache/ and gocache/ (~3.5 GB; `go clean -modcache` removes the
# read-only module cache).
#
# The cluster runs as root (sudo is used when not root): it adds 10.77.0.1/32 to lo (the apiserver's and the
# kubelet's address, reachable from pods), the bridge runplane0 with pods in 10.88.0.0/16, KUBE-*/CNI-* iptables
# chains, cgroups named kubepods, and changes a few sysctls; `down` undoes all of it. It uses fixed ports
# (2379, 2380, 6443, 10248-10259), so one cluster per machine. Processes are only ever stopped by the PIDs in
# run/*.pid, and only when their command line names this harness's home.
#
# Traps this setup avoids (found the hard way on the project's VMs): no CAP_SYS_RESOURCE, so containerd needs
# restrict_oom_score_adj; crun fails on hybrid cgroups, so runc; the kubelet needs the cgroupfs driver and
# failCgroupV1: false; pods cannot use a loopback API address; the apiserver must prefer the node's InternalIP
# or `kubectl logs` dials 127.0.0.1:10250; ctr hangs ~10 s on a missing socket; the proxy is a partial mirror
# (v1.32.2 has every staging module, v1.32.13 does not). No NetworkPolicy enforcement, no cluster DNS.
set -euo pipefail

KUBE_VERSION=v1.32.2
HELM_VERSION=v3.17.4
API_IP=10.77.0.1
NODE_NAME=vm
SERVICE_CIDR=10.96.0.0/16
POD_CIDR=10.88.0.0/16
PAUSE_IMAGE=docker.io/local/pause:3.10
BUSYBOX_IMAGE=docker.io/local/busybox:1.35
RUNPLANE_IMAGE=docker.io/runplane/runplane:e2e
K8S_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl kube-proxy)
PORTS=(2379 2380 6443 10248 10249 10250 10256 10257 10259)
# Sysctls the kubelet (protectKernelDefaults: false) and the bridge plugin change; recorded before the first
# start in sysctl-orig.txt and restored by `down`.
SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
	kernel.keys.root_maxbytes net.ipv4.ip_forward net.ipv4.conf.all.route_localnet)

KUBE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$KUBE_DIR/../.." && pwd)
K=$(realpath -m "${RUNPLANE_K8S_HOME:-$HOME/.cache/runplane-k8s}")
BIN=$K/bin PKI=$K/pki RUN=$K/run LOGS=$K/logs CONF=$K/conf IMAGES=$K/images
SOCK=$RUN/containerd/containerd.sock
K8S_CACHE=${RUNPLANE_K8S_BINS_CACHE:-$K/k8s-bins-$KUBE_VERSION.tar.zst}
HELM_CACHE=$K/helm-$HELM_VERSION.tar.zst
ETCD=${ETCD_BIN:-etcd}
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

# the root part (another process) goes on counting from the user part's start
T0=${RUNPLANE_KUBE_T0:-${EPOCHREALTIME//[.,]/}}
export RUNPLANE_KUBE_T0=$T0
say() {
	local d=$(((${EPOCHREALTIME//[.,]/} - T0) / 100000))
	printf '[kube %4d.%ds] %s\n' $((d / 10)) $((d % 10)) "$*"
}
die() {
	echo "cluster.sh: $*" >&2
	exit 1
}
is_root() { [ "$(id -u)" = 0 ]; }
# Runs this script's root-only subcommands as root, with the same home.
as_root() {
	if is_root; then
		"$@"
	else
		command -v sudo >/dev/null || die "needs root (or sudo) to run the cluster"
		sudo env "RUNPLANE_K8S_HOME=$K" "PATH=$PATH" "RUNPLANE_KUBE_T0=$T0" "$@"
	fi
}
lock() {
	mkdir -p "$K"
	exec 9>>"$K/lock"
	flock -w 600 9 || die "another cluster.sh holds $K/lock"
}

## Packages ##########################################################################################################

cni_bin_dir() {
	local d
	for d in /usr/lib/cni /opt/cni/bin; do
		if [ -x "$d/bridge" ] && [ -x "$d/host-local" ] && [ -x "$d/portmap" ] && [ -x "$d/loopback" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}
static_busybox() {
	local out
	[ -x /bin/busybox ] || return 1
	out=$(LC_ALL=C ldd /bin/busybox 2>&1 || true)
	[[ $out == *"not a dynamic executable"* ]]
}
have() { command -v "$1" >/dev/null 2>&1; }

missing_packages() {
	local -a p=()
	{ have containerd && have ctr && have containerd-shim-runc-v2; } || p+=(containerd)
	have runc || p+=(runc)
	cni_bin_dir >/dev/null || p+=(containernetworking-plugins)
	have iptables || p+=(iptables)
	have conntrack || p+=(conntrack)
	static_busybox || p+=(busybox-static)
	have "$ETCD" || p+=(etcd-server)
	have openssl || p+=(openssl)
	have zstd || p+=(zstd)
	have curl || p+=(curl)
	[ -s /etc/ssl/certs/ca-certificates.crt ] || p+=(ca-certificates)
	{ have ip && have ss; } || p+=(iproute2)
	have sysctl || p+=(procps)
	have flock || p+=(util-linux)
	echo "${p[*]}"
}

# Installs Debian packages without letting their services start: only the binaries are used, and a system
# etcd on 127.0.0.1:2379 or a system containerd would not be there before.
apt_install() {
	local sudo="" made_policy=false rc=0 unit
	local -a units=()
	is_root || sudo=sudo
	have apt-get || die "missing: $* (install them; only Debian's apt-get is automated)"
	say "installing Debian packages: $*"
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		# invoke-rc.d and deb-systemd-invoke start nothing while this exists (exit 101: action forbidden)
		printf '#!/bin/sh\n# hack/kube/cluster.sh: no service starts while it installs packages\nexit 101\n' |
			$sudo tee /usr/sbin/policy-rc.d >/dev/null
		$sudo chmod 755 /usr/sbin/policy-rc.d
		made_policy=true
	fi
	$sudo apt-get update -qq || rc=$?
	if [ "$rc" = 0 ]; then
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null || rc=$?
	fi
	if $made_policy; then $sudo rm -f /usr/sbin/policy-rc.d; fi
	[ "$rc" = 0 ] || die "apt-get failed ($rc)"
	# The packages enable their services for the next boot; a system etcd would then hold port 2379. They were not
	# installed before, so nothing of the host's used them: stop (in case) and disable them.
	if [[ " $* " == *" containerd "* ]]; then units+=(containerd); fi
	if [[ " $* " == *" etcd-server "* ]]; then units+=(etcd); fi
	for unit in "${units[@]}"; do
		if [ -d /run/systemd/system ]; then
			$sudo systemctl stop "$unit" >/dev/null 2>&1 || true
			$sudo systemctl disable --quiet "$unit" >/dev/null 2>&1 || true
		elif [ -x "/etc/init.d/$unit" ]; then
			$sudo update-rc.d "$unit" disable >/dev/null 2>&1 || true
		fi
	done
}

ensure_packages() {
	local missing
	missing=$(missing_packages)
	if [ -n "$missing" ]; then
		# shellcheck disable=SC2086 # a list of package names
		apt_install $missing
		missing=$(missing_packages)
		[ -z "$missing" ] || die "still missing after apt-get: $missing"
	fi
	say "packages present (containerd $(containerd --version 2>/dev/null | awk '{print $3}'), etcd $("$ETCD" --version 2>/dev/null | awk '/etcd Version/{print $3}'))"
}

## Binaries ##########################################################################################################

# Go builds of the tools modules (hack/kube/kbuild, hack/kube/helmbuild) use their own caches under the home and
# never change their go.mod/go.sum; the product's module and caches are not involved.
tool_go() {
	(
		export GOMODCACHE="$K/gomodcache" GOCACHE="$K/gocache" GOPATH="$K/gopath" GOTOOLCHAIN=local CGO_ENABLED=0
		export GOFLAGS="-buildvcs=false -mod=readonly"
		go "$@"
	)
}

ensure_k8s_bins() {
	local b ok=true
	mkdir -p "$BIN" "$LOGS"
	for b in "${K8S_BINS[@]}"; do [ -x "$BIN/$b" ] || ok=false; done
	if $ok && [ "$(cat "$BIN/.k8s-version" 2>/dev/null)" = "$KUBE_VERSION" ]; then
		say "Kubernetes $KUBE_VERSION binaries present in $BIN"
		return 0
	fi
	if [ ! -s "$K8S_CACHE" ]; then
		build_k8s_bins
	fi
	rm -f "$BIN/.k8s-version"
	zstd -dcq "$K8S_CACHE" | tar -C "$BIN" -xf -
	for b in "${K8S_BINS[@]}"; do [ -x "$BIN/$b" ] || die "$K8S_CACHE lacks $b (remove it to rebuild)"; done
	echo "$KUBE_VERSION" >"$BIN/.k8s-version"
	say "Kubernetes $KUBE_VERSION binaries restored from $K8S_CACHE"
}

build_k8s_bins() {
	local minor=${KUBE_VERSION#v1.} ldflags="-s -w" p b out
	minor=${minor%%.*}
	for p in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
		ldflags+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
	done
	local -a pkgs=()
	for b in "${K8S_BINS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
	say "building Kubernetes $KUBE_VERSION from the Go module proxy (cold: ~7-9 min and 2 GB of RAM; log: $LOGS/build-k8s.log)"
	out=$(mktemp -d "$K/build-k8s.XXXXXX")
	if ! (cd "$KUBE_DIR/kbuild" && tool_go build -trimpath -tags=selinux,notest -ldflags "$ldflags" -o "$out/" "${pkgs[@]}") \
		>"$LOGS/build-k8s.log" 2>&1; then
		tail -n 40 "$LOGS/build-k8s.log" >&2
		rm -rf "$out"
		die "building Kubernetes failed (log: $LOGS/build-k8s.log)"
	fi
	tar -C "$out" -cf - "${K8S_BINS[@]}" | zstd -q -T0 -3 -o "$K8S_CACHE.tmp"
	mv "$K8S_CACHE.tmp" "$K8S_CACHE"
	rm -rf "$out"
	say "built; cached as $K8S_CACHE"
}

ensure_helm() {
	local out
	mkdir -p "$BIN" "$LOGS"
	if [ -x "$BIN/helm" ] && [ "$(cat "$BIN/.helm-version" 2>/dev/null)" = "$HELM_VERSION" ]; then
		say "helm $HELM_VERSION present in $BIN"
		return 0
	fi
	if [ ! -s "$HELM_CACHE" ]; then
		say "building helm $HELM_VERSION from the Go module proxy (cold: ~1-2 min; log: $LOGS/build-helm.log)"
		local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" p
		ldflags+=" -X helm.sh/helm/v3/internal/version.metadata= -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
		# the Kubernetes version `helm template` assumes (helm's Makefile derives it from client-go: v0.32 -> 1.32)
		for p in pkg/lint/rules pkg/chartutil; do
			ldflags+=" -X helm.sh/helm/v3/$p.k8sVersionMajor=1 -X helm.sh/helm/v3/$p.k8sVersionMinor=32"
		done
		out=$(mktemp -d "$K/build-helm.XXXXXX")
		if ! (cd "$KUBE_DIR/helmbuild" && tool_go build -trimpath -ldflags "$ldflags" -o "$out/helm" helm.sh/helm/v3/cmd/helm) \
			>"$LOGS/build-helm.log" 2>&1; then
			tail -n 40 "$LOGS/build-helm.log" >&2
			rm -rf "$out"
			die "building helm failed (log: $LOGS/build-helm.log)"
		fi
		tar -C "$out" -cf - helm | zstd -q -T0 -3 -o "$HELM_CACHE.tmp"
		mv "$HELM_CACHE.tmp" "$HELM_CACHE"
		rm -rf "$out"
	fi
	rm -f "$BIN/.helm-version"
	zstd -dcq "$HELM_CACHE" | tar -C "$BIN" -xf - helm
	echo "$HELM_VERSION" >"$BIN/.helm-version"
	say "helm $HELM_VERSION restored from $HELM_CACHE"
}

## Images ############################################################################################################

build_base_images() {
	local src a
	mkdir -p "$IMAGES"
	src=$(mktemp -d "$IMAGES/src.XXXXXX")
	mkdir -p "$src/busybox/"{bin,sbin,usr/bin,usr/sbin,etc,tmp,root} "$src/pause"
	# busybox image: the static busybox and its applets at their usual paths (/bin/sh, /usr/bin/env, ...)
	cp /bin/busybox "$src/busybox/bin/busybox"
	while read -r a; do
		[ -e "$src/busybox/$a" ] || [ -L "$src/busybox/$a" ] || ln -s /bin/busybox "$src/busybox/$a"
	done < <(/bin/busybox --list-full)
	chmod 1777 "$src/busybox/tmp"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$src/busybox/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$src/busybox/etc/group"
	# pause image: Kubernetes' pause.c (v1.32.2) compiled static, or the Go stand-in without gcc and a static libc
	if have gcc && gcc -Os -static -DVERSION=v3.10-runplane -o "$src/pause/pause" "$KUBE_DIR/pause/pause.c" 2>/dev/null; then
		strip "$src/pause/pause" 2>/dev/null || true
	else
		(cd "$KUBE_DIR/gopause" && tool_go build -trimpath -ldflags "-s -w" -o "$src/pause/pause" .)
	fi
	"$KUBE_DIR/mk-image.sh" "$src/busybox" "$BUSYBOX_IMAGE" "$IMAGES/busybox.tar" null '["sh"]' >/dev/null
	"$KUBE_DIR/mk-image.sh" "$src/pause" "$PAUSE_IMAGE" "$IMAGES/pause.tar" '["/pause"]' null >/dev/null
	rm -rf "$src"
	say "images built: $BUSYBOX_IMAGE, $PAUSE_IMAGE"
}

# runplane's own image, from the working tree (hack/image writes a docker-archive tarball).
build_runplane_image() {
	local tmp commit
	mkdir -p "$IMAGES"
	if [ ! -d "$REPO/hack/image" ]; then
		rm -f "$IMAGES/runplane.tar"
		say "hack/image does not exist (yet): no $RUNPLANE_IMAGE in the cluster"
		return 0
	fi
	if [ "${RUNPLANE_KUBE_SKIP_IMAGE:-0}" = 1 ]; then
		rm -f "$IMAGES/runplane.tar"
		say "RUNPLANE_KUBE_SKIP_IMAGE=1: no $RUNPLANE_IMAGE in the cluster (\`$0 image\` adds it later)"
		return 0
	fi
	tmp=$(mktemp -d)
	commit=$(git -C "$REPO" rev-parse HEAD 2>/dev/null || true)
	if ! (
		cd "$REPO"
		CGO_ENABLED=0 go build -buildvcs=false -trimpath \
			-ldflags "-X github.com/runplane/runplane/internal/cli.commit=$commit" -o "$tmp/runplane" ./cmd/runplane
		CGO_ENABLED=0 go build -buildvcs=false -trimpath -ldflags=-s -o "$tmp/runplane-pid1" ./cmd/runplane-pid1
		go run -buildvcs=false ./hack/image -binary "$tmp/runplane" -pid1 "$tmp/runplane-pid1" -tag "$RUNPLANE_IMAGE" \
			-revision "$commit" -o "$IMAGES/runplane.tar" >/dev/null
	); then
		rm -rf "$tmp"
		die "building runplane's image failed (RUNPLANE_KUBE_SKIP_IMAGE=1 brings the cluster up without it)"
	fi
	rm -rf "$tmp"
	say "image built: $RUNPLANE_IMAGE ($(du -h "$IMAGES/runplane.tar" | cut -f1))"
}

ctr_k8s() { timeout 120 ctr -a "$SOCK" -n k8s.io "$@"; }
containerd_up() { [ -S "$SOCK" ] && timeout 5 ctr -a "$SOCK" version >/dev/null 2>&1; }

import_images() {
	local img
	for img in pause busybox runplane; do
		[ -f "$IMAGES/$img.tar" ] || continue
		ctr_k8s images import "$IMAGES/$img.tar" >"$LOGS/import-$img.log" 2>&1 ||
			{ cat "$LOGS/import-$img.log" >&2; die "importing $img.tar failed"; }
	done
}

## PKI ###############################################################################################################

# CA, serving and client certificates, service-account keys and kubeconfigs, with openssl. Kept across runs
# (same paths and credentials for whoever holds the kubeconfig); remade when missing or for other addresses.
ensure_pki() {
	local stamp="$API_IP $NODE_NAME v1"
	if [ -s "$PKI/admin.kubeconfig" ] && [ "$(cat "$PKI/.stamp" 2>/dev/null)" = "$stamp" ]; then
		say "PKI present in $PKI"
		return 0
	fi
	rm -rf "$PKI"
	mkdir -p "$PKI"
	(
		cd "$PKI"
		umask 077
		openssl genrsa -out ca.key 2048 2>/dev/null
		openssl req -x509 -new -nodes -key ca.key -sha256 -days 3650 -subj "/CN=runplane-e2e-ca" -out ca.crt 2>/dev/null
		mkcert() {
			openssl genrsa -out "$1.key" 2048 2>/dev/null
			openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
			printf '%b' "$3" >"$1.ext"
			openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
				-extfile "$1.ext" -out "$1.crt" 2>/dev/null
			rm -f "$1.csr" "$1.ext"
		}
		local client='basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n'
		local svc_ip=${SERVICE_CIDR%.0/*}.1
		mkcert apiserver /CN=kube-apiserver "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:$API_IP,IP:127.0.0.1,IP:$svc_ip,DNS:localhost,DNS:$NODE_NAME,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n"
		mkcert admin /O=system:masters/CN=kubernetes-admin "$client"
		mkcert apiserver-kubelet-client /O=system:masters/CN=kube-apiserver-kubelet-client "$client"
		mkcert controller-manager /CN=system:kube-controller-manager "$client"
		mkcert scheduler /CN=system:kube-scheduler "$client"
		mkcert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "$client"
		mkcert kube-proxy /CN=system:kube-proxy "$client"
		openssl genrsa -out sa.key 2048 2>/dev/null
		openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
		rm -f ca.srl
		local u
		for u in admin controller-manager scheduler kubelet kube-proxy; do
			cat >"$u.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: runplane-e2e
  cluster:
    server: https://$API_IP:6443
    certificate-authority-data: $(base64 -w0 <ca.crt)
users:
- name: $u
  user:
    client-certificate-data: $(base64 -w0 <"$u.crt")
    client-key-data: $(base64 -w0 <"$u.key")
contexts:
- name: $u@runplane-e2e
  context: {cluster: runplane-e2e, user: $u}
current-context: $u@runplane-e2e
EOF
		done
		echo "$stamp" >.stamp
	)
	say "PKI made in $PKI"
}

render_conf() {
	local cni
	cni=$(cni_bin_dir) || die "no CNI plugins (bridge, host-local, portmap, loopback) in /usr/lib/cni or /opt/cni/bin"
	mkdir -p "$CONF/cni"
	local -a subst=(-e "s#@K8S_HOME@#$K#g" -e "s#@CNI_BIN_DIR@#$cni#g" -e "s#@PAUSE_IMAGE@#$PAUSE_IMAGE#g"
		-e "s#@POD_CIDR@#$POD_CIDR#g" -e "s#@API_IP@#$API_IP#g")
	sed "${subst[@]}" "$KUBE_DIR/conf/containerd.toml" >"$CONF/containerd.toml"
	sed "${subst[@]}" "$KUBE_DIR/conf/kubelet-config.yaml" >"$CONF/kubelet-config.yaml"
	sed "${subst[@]}" "$KUBE_DIR/conf/10-runplane.conflist" >"$CONF/cni/10-runplane.conflist"
}

## Processes #########################################################################################################

alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
# A process this harness started: alive, and its command line names the harness's home.
ours() {
	local cmdline
	alive "$1" || return 1
	cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
	[[ $cmdline == *"$K/"* ]]
}
pid_of() {
	local pid
	pid=$(cat "$RUN/$1.pid" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] && ours "$pid" && echo "$pid"
}

start_daemon() {
	local name=$1
	shift
	# 9>&-: the daemons must not inherit (and hold) the lock
	setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null 9>&- &
	local pid=$! i
	echo "$pid" >"$RUN/$name.pid"
	# Until it has exec'd: before, its command line is this script's, and pid_of would take it for gone.
	for ((i = 0; i < 200; i++)); do
		ours "$pid" && break
		alive "$pid" || break
		sleep 0.05
	done
	say "started $name (pid $pid)"
}

# wait_for <seconds> <daemon> <what> <command...>: until the command succeeds; fails early if the daemon died.
wait_for() {
	local secs=$1 name=$2 what=$3 deadline
	shift 3
	deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		if ! pid_of "$name" >/dev/null; then
			tail -n 30 "$LOGS/$name.log" >&2
			die "$name exited while waiting for: $what (log: $LOGS/$name.log)"
		fi
		if ((SECONDS >= deadline)); then
			tail -n 30 "$LOGS/$name.log" >&2
			die "timed out after ${secs}s waiting for: $what (log: $LOGS/$name.log)"
		fi
		sleep 0.2
	done
	say "$what"
}

stop_daemon() {
	local name=$1 f="$RUN/$1.pid" pid i
	[ -f "$f" ] || return 0
	pid=$(cat "$f" 2>/dev/null || true)
	if [[ $pid =~ ^[0-9]+$ ]] && ours "$pid"; then
		kill "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		if alive "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
		say "stopped $name (pid $pid)"
	elif [[ $pid =~ ^[0-9]+$ ]] && alive "$pid"; then
		say "left pid $pid of $f alone: it is not a process of this harness (stale pidfile)"
	fi
	rm -f "$f"
}

api_ready() { curl -sf --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "https://$API_IP:6443/readyz"; }
kc() { "$BIN/kubectl" --kubeconfig "$PKI/admin.kubeconfig" --request-timeout=10s "$@"; }
node_ready() { [ "$(kc get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
service_programmed() {
	local rules
	rules=$(iptables -w -t nat -S KUBE-SERVICES 2>/dev/null) || return 1
	[[ $rules == *"-d ${SERVICE_CIDR%.0/*}.1/32 "* ]]
}

record_sysctls() {
	local f=$K/sysctl-orig.txt k
	touch "$f"
	for k in "${SYSCTLS[@]}"; do
		awk -v k="$k" '$1 == k { found = 1 } END { exit !found }' "$f" || sysctl "$k" >>"$f" 2>/dev/null || true
	done
}

ports_free() {
	local busy
	busy=$(ss -Htlnp 2>/dev/null | awk -v ports=" ${PORTS[*]} " '{ n = split($4, a, ":"); if (index(ports, " " a[n] " ")) print $4, $6 }') || true
	[ -z "$busy" ] || die "ports the cluster needs are taken (another cluster or a system etcd?):
$busy"
}

# Root part of `up`: a fresh cluster from the binaries, images and PKI the user part prepared.
root_start() {
	is_root || die "root_start needs root"
	lock
	root_stop quiet
	mkdir -p "$RUN" "$LOGS"
	ports_free
	record_sysctls
	local addrs
	addrs=$(ip -o addr show dev lo)
	[[ $addrs == *" $API_IP/32 "* ]] || ip addr add "$API_IP/32" dev lo
	render_conf
	say "host ready ($API_IP/32 on lo)"

	start_daemon containerd containerd --config "$CONF/containerd.toml"
	wait_for 60 containerd "containerd ready" containerd_up
	import_images
	say "images imported"

	start_daemon etcd "$ETCD" --name runplane --data-dir "$RUN/etcd" \
		--listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
		--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster runplane=http://127.0.0.1:2380
	wait_for 60 etcd "etcd healthy" curl -sf --max-time 5 http://127.0.0.1:2379/health

	start_daemon kube-apiserver "$BIN/kube-apiserver" \
		--etcd-servers=http://127.0.0.1:2379 \
		--bind-address="$API_IP" --advertise-address="$API_IP" --secure-port=6443 \
		--tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" --client-ca-file="$PKI/ca.crt" \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
		--service-cluster-ip-range="$SERVICE_CIDR" \
		--authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
		--kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
		--kubelet-preferred-address-types=InternalIP,Hostname \
		--allow-privileged=true --profiling=false
	wait_for 120 kube-apiserver "apiserver ready" api_ready

	start_daemon kube-controller-manager "$BIN/kube-controller-manager" \
		--kubeconfig="$PKI/controller-manager.kubeconfig" \
		--authentication-kubeconfig="$PKI/controller-manager.kubeconfig" --authorization-kubeconfig="$PKI/controller-manager.kubeconfig" \
		--bind-address=127.0.0.1 --leader-elect=false \
		--service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" --use-service-account-credentials=true \
		--cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
		--service-cluster-ip-range="$SERVICE_CIDR" --allocate-node-cidrs=false
	start_daemon kube-scheduler "$BIN/kube-scheduler" \
		--kubeconfig="$PKI/scheduler.kubeconfig" \
		--authentication-kubeconfig="$PKI/scheduler.kubeconfig" --authorization-kubeconfig="$PKI/scheduler.kubeconfig" \
		--bind-address=127.0.0.1 --leader-elect=false
	start_daemon kubelet "$BIN/kubelet" --config="$CONF/kubelet-config.yaml" --kubeconfig="$PKI/kubelet.kubeconfig" \
		--root-dir="$RUN/kubelet" --cert-dir="$RUN/kubelet/pki" --node-ip="$API_IP" --hostname-override="$NODE_NAME"
	# conntrack 0s: leave the host's conntrack sysctls alone; no localhost NodePorts: leave route_localnet alone
	start_daemon kube-proxy "$BIN/kube-proxy" --kubeconfig="$PKI/kube-proxy.kubeconfig" --hostname-override="$NODE_NAME" \
		--proxy-mode=iptables --cluster-cidr="$POD_CIDR" --iptables-localhost-nodeports=false \
		--metrics-bind-address=127.0.0.1:10249 --healthz-bind-address=127.0.0.1:10256 \
		--conntrack-max-per-core=0 --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0

	wait_for 120 kubelet "node $NODE_NAME Ready" node_ready
	wait_for 120 kube-controller-manager "default ServiceAccount exists" kc get serviceaccount default
	wait_for 60 kube-proxy "kubernetes Service programmed by kube-proxy" service_programmed
}

# Stops the cluster: by PID from the pidfiles (kubelet first, so it restarts nothing), the pods through
# containerd, then whatever pod process or containerd shim survived (a crashed containerd), found from runc's
# init.pid files: containerd 1.6 keeps no shim pidfile, a shim is the parent of its pods' processes.
root_stop() {
	local quiet=${1:-} id f pid ppid
	local -a inits=() shims=()
	is_root || die "root_stop needs root"
	stop_daemon kubelet
	for f in "$RUN"/containerd/state/io.containerd.runtime.v2.task/*/*/init.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null || true)
		# a pod's process: alive and in a kubepods cgroup
		if ! [[ $pid =~ ^[0-9]+$ ]] || ! alive "$pid" || ! grep -q kubepods "/proc/$pid/cgroup" 2>/dev/null; then continue; fi
		inits+=("$pid")
		ppid=$(awk '$1 == "PPid:" {print $2}' "/proc/$pid/status" 2>/dev/null || true)
		if [[ $ppid =~ ^[0-9]+$ ]] && ours "$ppid"; then shims+=("$ppid"); fi
	done
	if containerd_up; then
		for id in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
	fi
	for id in kube-proxy kube-scheduler kube-controller-manager kube-apiserver etcd; do stop_daemon "$id"; done
	if containerd_up; then
		for id in $(ctr_k8s containers ls -q 2>/dev/null); do
			ctr_k8s tasks delete -f "$id" >/dev/null 2>&1 || true
			ctr_k8s containers delete "$id" >/dev/null 2>&1 || true
		done
	fi
	stop_daemon containerd
	for pid in "${inits[@]}"; do
		if alive "$pid" && grep -q kubepods "/proc/$pid/cgroup" 2>/dev/null; then
			kill -9 "$pid" 2>/dev/null || true
			say "killed leftover pod process $pid"
		fi
	done
	for pid in "${shims[@]}"; do
		if ours "$pid"; then
			kill -9 "$pid" 2>/dev/null || true
			say "killed leftover containerd shim $pid"
		fi
	done
	# mounts under the run dir (overlay rootfs, shm, kubelet volumes), deepest first; the pods' network namespaces
	local m
	awk -v run="$RUN/" 'index($2, run) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
	if ! system_containerd; then
		awk 'index($2, "/run/netns/cni-") == 1 {print $2}' /proc/self/mounts | while read -r m; do umount -l "$m" 2>/dev/null || true; done
		rm -f /run/netns/cni-* 2>/dev/null || true
	fi
	# the loopback plugin's result cache, one file per pod sandbox still set up when containerd stopped
	local sb
	for sb in "$RUN"/containerd/root/io.containerd.grpc.v1.cri/sandboxes/*/; do
		if [ -d "$sb" ]; then rm -f "/var/lib/cni/results/cni-loopback-$(basename "$sb")-lo"; fi
	done
	rm -rf "$RUN"
	host_cleanup
	[ -n "$quiet" ] || say "cluster down"
}

# host_state prints, in a stable form, everything of the host that the cluster changes while it runs (see
# host_cleanup): addresses and links, iptables rules and chains, the sysctls, mounts, the fixed directories, the
# kubepods cgroups and this harness's processes. Equal output before `up` and after `down` means the host is as it
# was found.
host_state() {
	local ipt c d
	echo "# addresses"
	ip -o addr show 2>/dev/null | awk '{print $2, $3, $4}' | sort
	echo "# links"
	ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | sort
	for ipt in iptables ip6tables; do
		have "$ipt-save" || continue
		echo "# $ipt (rules, and chains other than the built-in ones)"
		{ "$ipt-save" 2>/dev/null || true; } | { grep -E '^-A |^:[^ ]+ - ' || true; } | sed 's/ \[[0-9]*:[0-9]*\]$//' | sort
	done
	echo "# sysctls"
	for c in "${SYSCTLS[@]}"; do echo "$c = $(sysctl -n "$c" 2>/dev/null)"; done
	echo "# mounts"
	awk '$2 ~ /kubelet|containerd|netns|runplane/ {print $2}' /proc/self/mounts | sort
	echo "# directories"
	for d in /var/lib/kubelet /var/log/containers /var/lib/cni /run/containerd/s /run/containerd/fifo /run/containerd/runc; do
		if [ -e "$d" ]; then echo "$d"; fi
	done
	echo "# cgroups"
	for c in /sys/fs/cgroup/kubepods /sys/fs/cgroup/*/kubepods; do
		if [ -d "$c" ]; then echo "$c"; fi
	done
	echo "# processes of $K"
	for d in /proc/[0-9]*; do
		if ours "${d#/proc/}"; then tr '\0' ' ' <"$d/cmdline" | awk '{print $1}'; fi
	done | sort
}

# A containerd of the host's own runs (or ran) on the default socket: its /run/containerd and /run/netns stay.
system_containerd() { [ -S /run/containerd/containerd.sock ]; }

# Removes the KUBE-* and CNI-* chains (kubelet, kube-proxy, the portmap plugin) and the jumps to them from the
# built-in chains, in every table, for IPv4 and IPv6; nothing else.
iptables_cleanup() {
	local ipt t c rule
	local -a chains
	for ipt in iptables ip6tables; do
		have "$ipt" || continue
		for t in filter nat mangle raw; do
			"$ipt" -w -t "$t" -S >/dev/null 2>&1 || continue
			# the jumps from the built-in chains, then the chains
			"$ipt" -w -t "$t" -S | awk '/^-A [A-Z]+ .*-j (KUBE|CNI)-/ { sub(/^-A/, "-D"); print }' | while read -r rule; do
				eval "\"\$ipt\" -w -t \"\$t\" $rule" 2>/dev/null || true
			done
			mapfile -t chains < <("$ipt" -w -t "$t" -S | awk '/^-N (KUBE|CNI)-/ {print $2}')
			for c in "${chains[@]}"; do "$ipt" -w -t "$t" -F "$c" 2>/dev/null || true; done
			for c in "${chains[@]}"; do "$ipt" -w -t "$t" -X "$c" 2>/dev/null || true; done
		done
	done
}

# Undoes what the cluster changed outside its home: iptables chains, sysctls, the address on lo, the bridge,
# cgroups, the kubelet's and CNI's files in fixed places.
host_cleanup() {
	local c l
	iptables_cleanup
	if [ -f "$K/sysctl-orig.txt" ]; then
		while read -r c _ l; do
			if [ -n "$c" ] && [ -n "$l" ]; then sysctl -qw "$c=$l" 2>/dev/null || true; fi
		done <"$K/sysctl-orig.txt"
		rm -f "$K/sysctl-orig.txt"
	fi
	ip addr del "$API_IP/32" dev lo 2>/dev/null || true
	ip link del runplane0 2>/dev/null || true
	for c in /sys/fs/cgroup/kubepods /sys/fs/cgroup/*/kubepods; do
		if [ -d "$c" ]; then find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
	done
	# the kubelet writes these whatever its --root-dir
	rm -rf /var/lib/kubelet/device-plugins
	rmdir /var/lib/kubelet 2>/dev/null || true
	for l in /var/log/containers/*; do
		if [ -L "$l" ] && [[ $(readlink "$l") == "$K"/* ]]; then rm -f "$l"; fi
	done
	rmdir /var/log/containers 2>/dev/null || true
	# libcni's result cache, named after the network ("runplane")
	rm -f /var/lib/cni/results/runplane-* 2>/dev/null || true
	rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null || true
	if ! system_containerd; then
		# containerd 1.6 keeps shim sockets, fifos and runc state in these fixed places
		rm -rf /run/containerd/s /run/containerd/fifo /run/containerd/runc
		rmdir /run/containerd 2>/dev/null || true
		if [ -d /run/netns ] && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
			if mountpoint -q /run/netns; then umount /run/netns 2>/dev/null || true; fi
			rmdir /run/netns 2>/dev/null || true
		fi
	fi
}

## Subcommands #######################################################################################################

print_env() {
	printf 'export RUNPLANE_K8S_HOME=%q\n' "$K"
	printf 'export KUBECONFIG=%q\n' "$PKI/admin.kubeconfig"
	printf 'export RUNPLANE_KUBE_TEST=1\n'
	printf 'export RUNPLANE_KUBE_IMAGE=%q\n' "$RUNPLANE_IMAGE"
	printf 'export RUNPLANE_KUBE_BUSYBOX=%q\n' "$BUSYBOX_IMAGE"
	printf 'export RUNPLANE_KUBE_HOST_IP=%q\n' "$API_IP"
	printf 'export RUNPLANE_HELM=%q\n' "$BIN/helm"
	printf 'export RUNPLANE_KUBECTL=%q\n' "$BIN/kubectl"
}

status() {
	local n pid rc=0
	for n in containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
		if pid=$(pid_of "$n"); then
			printf '%-24s running (pid %s)\n' "$n" "$pid"
		else
			printf '%-24s not running\n' "$n"
			rc=3
		fi
	done
	if [ -s "$PKI/admin.kubeconfig" ] && [ -x "$BIN/kubectl" ] && kc get node -o wide 2>/dev/null; then :; else rc=3; fi
	echo "KUBECONFIG=$PKI/admin.kubeconfig"
	return "$rc"
}

usage() {
	sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

case ${1:-} in
up)
	ensure_packages
	ensure_k8s_bins
	ensure_helm
	build_base_images
	build_runplane_image
	ensure_pki
	as_root "$KUBE_DIR/cluster.sh" _start
	say "cluster up: KUBECONFIG=$PKI/admin.kubeconfig (eval \"\$($0 env)\" for the tests' variables)"
	;;
down) as_root "$KUBE_DIR/cluster.sh" _stop ;;
env) print_env ;;
status) status ;;
host-state) as_root "$KUBE_DIR/cluster.sh" _host_state ;;
_host_state) host_state ;;
image)
	build_runplane_image
	if [ -f "$IMAGES/runplane.tar" ]; then as_root "$KUBE_DIR/cluster.sh" _import; fi
	;;
tools)
	have zstd || die "needs zstd"
	ensure_k8s_bins
	ensure_helm
	;;
_start) root_start ;;
_stop)
	lock
	root_stop
	;;
_import)
	containerd_up || die "the cluster's containerd is not running ($0 up)"
	import_images
	say "images imported"
	;;
*) usage ;;
esac
