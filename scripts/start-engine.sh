#!/bin/sh
# Starts the Docker engine directly (no init system can be assumed: containers, CI machines),
# with live restore: lab containers keep running while the engine restarts. It runs in a
# session of its own, so it outlives whoever started it; waits until it answers. Used by set-up,
# and by the fault test that restarts the engine mid-run.
set -eu
log=/var/log/fwlab-dockerd.log
# Live restore from the config file (dockerd refuses a setting given both ways); a daemon.json
# someone else wrote is left as it is.
if [ ! -e /etc/docker/daemon.json ]; then
  mkdir -p /etc/docker && echo '{ "live-restore": true }' >/etc/docker/daemon.json
fi
setsid nohup dockerd >>"$log" 2>&1 &
i=0
until docker version >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -gt 120 ]; then
    echo "dockerd did not answer within 60s; see $log" >&2
    exit 1
  fi
  sleep 0.5
done
