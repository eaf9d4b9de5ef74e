#!/bin/sh
# Publishes examples/repo as the git repository the example runner uses: file:///tmp/runplane-examples.git.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bare=${1:-/tmp/runplane-examples.git}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R "$here/repo/." "$work/"
cd "$work"
git init -q -b main
git add -A
git -c user.name=runplane -c user.email=examples@runplane.invalid commit -q -m "runplane examples"
rm -rf "$bare"
git clone -q --bare "$work" "$bare"
echo "example repository: file://$bare"
