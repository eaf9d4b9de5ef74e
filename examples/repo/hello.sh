#!/bin/sh
# Greets whoever EXTRA_VARS names and returns the greeting as the job's result.
name=$(printf '%s' "${EXTRA_VARS:-{\}}" | sed -n 's/.*"name"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
[ -n "$name" ] || name=world
echo "hello, $name (job $RUNPLANE_JOB_ID)"
echo "^JSON"
printf '{"greeting": "hello, %s", "task": "%s"}\n' "$name" "$RUNPLANE_TASK"
echo "^JSON"
