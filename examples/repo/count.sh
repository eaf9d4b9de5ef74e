#!/bin/sh
# Counts slowly, for watching a live log (runplane logs -f) or cancelling a job.
n=$(printf '%s' "${EXTRA_VARS:-{\}}" | sed -n 's/.*"to"[[:space:]]*:[[:space:]]*\([0-9]*\).*/\1/p')
i=1
while [ "$i" -le "${n:-10}" ]; do
	echo "count $i"
	i=$((i + 1))
	sleep 1
done
echo "^JSON {\"counted\": ${n:-10}} ^JSON"
