#!/bin/sh
# Starts the Docker engine directly (no init system can be assumed: containers, CI machines),
# with live restore: lab containers keep running while the engine restarts. It runs in a
# session of its own, so it outlives whoever started it; waits until it answers. Used by set-up,
# and by the fault test that restarts the engine mid-run.
set -eu
log=/var/log/fwlab-dockerd.log
setsid nohup dockerd --live-restore >>"$log" 2>&1 &
i=0
until docker version >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -gt 120 ]; then
    echo "dockerd did not answer within 60s; see $log" >&2
    exit 1
  fi
  sleep 0.5
done
