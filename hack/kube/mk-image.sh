#!/usr/bin/env bash
# Packs a directory as a one-layer image in docker-archive ("docker save") format, with tar and sha256sum only:
# no registry, no Docker. The same inputs give the same tarball (sorted entries, owner 0, mtime 0).
#
#   mk-image.sh <rootfs-dir> <ref> <out.tar> [<entrypoint-json> [<cmd-json>]]
#   mk-image.sh /tmp/rootfs docker.io/local/busybox:1.35 busybox.tar null '["sh"]'
#
# Import it with `ctr -a <socket> -n k8s.io images import out.tar`; pods use it with imagePullPolicy: Never.
set -euo pipefail
rootfs=$1 ref=$2 out=$3 entrypoint=${4:-null} cmd=${5:-null}
case $(uname -m) in aarch64 | arm64) arch=arm64 ;; *) arch=amd64 ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarflags=(--sort=name --mtime=@0 --numeric-owner --owner=0 --group=0)
tar "${tarflags[@]}" -C "$rootfs" -cf "$work/layer.tar" .
layer=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
mkdir "$work/$layer"
mv "$work/layer.tar" "$work/$layer/layer.tar"
cat >"$work/config.json" <<EOF
{"architecture":"$arch","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":$entrypoint,"Cmd":$cmd,"WorkingDir":"/"},
 "rootfs":{"type":"layers","diff_ids":["sha256:$layer"]},
 "history":[{"created":"1970-01-01T00:00:00Z","created_by":"runplane hack/kube/mk-image.sh"}]}
EOF
config=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv "$work/config.json" "$work/$config.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$config" "$ref" "$layer" >"$work/manifest.json"
tar "${tarflags[@]}" -C "$work" -cf "$out.tmp" manifest.json "$config.json" "$layer"
mv "$out.tmp" "$out"
echo "$out: $ref config=sha256:$config layer=sha256:$layer"
