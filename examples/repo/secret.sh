#!/bin/sh
# Shows that the runner's secret arrives as a file and as an env var, without printing it.
file=${RUNPLANE_SECRET_DIR:-/etc/secret}/GREETING_KEY
echo "secret file $file has $(wc -c < "$file") bytes; env var has ${#GREETING_KEY} characters"
echo "^JSON {\"same\": $([ "$(cat "$file")" = "$GREETING_KEY" ] && echo true || echo false)} ^JSON"
