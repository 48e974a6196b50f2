#!/usr/bin/env bash
# keep-running.sh NAME COMMAND...: run COMMAND, and start it again whenever it stops, waiting 1, 2,
# 4... up to 30 seconds between starts (back to 1 once it has run for a minute), saying so each time.
# It stops with its process group (scripts/serve.sh stops the group).
set -u
name=$1
shift
backoff=1
while true; do
  started=$SECONDS
  "$@"
  status=$?
  [ $((SECONDS - started)) -ge 60 ] && backoff=1
  echo "$name stopped (exit $status); starting it again in ${backoff}s." >&2
  sleep "$backoff"
  backoff=$((backoff * 2 > 30 ? 30 : backoff * 2))
done
