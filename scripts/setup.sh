#!/bin/sh
# Sets up everything fwlab needs on this machine, each step skipped in well under a second
# when it is already done:
#   1. npm packages (when package-lock.json changed) and the CLI bundle (when a source changed)
#   2. the Docker engine: the one DOCKER_HOST, DOCKER_CONTEXT or `docker context use` names is
#      checked; with none named, Debian's docker.io is installed, started and waited for when no
#      local engine answers; and docker-compose
#   3. the lab images, built on that engine through its API (unchanged ones are skipped): the
#      base root filesystem by debootstrap as root, else by mmdebstrap in a user namespace
# fwlab itself needs only the engine: no root, no local engine when one is named. Where set-up
# cannot do a step (no root, not Debian), it says what to install instead and stops.
set -eu
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

is_root() { [ "$(id -u)" = 0 ]; }
is_debian() { [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; }
engine_answers() { timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

apt_ready=""
apt_install() {
  if [ -z "$apt_ready" ]; then
    say "  apt-get update ..."
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed"
    apt_ready=1
  fi
  say "  apt-get install $* ..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed"
}

# --- 1. npm packages ------------------------------------------------------------------------
stamp=node_modules/.fwlab-lock
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then
  say "npm packages: up to date"
else
  t=$(now)
  say "npm packages: npm ci (exactly package-lock.json) ..."
  # npm ci installs the lock file as committed and never rewrites it: a fresh checkout stays
  # clean after set-up. (The lock lists every platform's optional biome binary; npm picks ours.)
  npm ci --no-audit --no-fund --loglevel=error >&2 || die "npm ci failed"
  cp package-lock.json "$stamp"
  say "npm packages: installed in $(took "$t")"
fi

# The CLI bundle (dist/fwlab.mjs, the page in dist/web): rebuilt when any source is newer.
if [ -f dist/fwlab.mjs ] && [ -z "$(find src web/src package-lock.json -newer dist/fwlab.mjs -print -quit)" ]; then
  say "CLI bundle: up to date"
else
  t=$(now)
  node scripts/build-cli.mjs || die "building the CLI bundle failed"
  say "CLI bundle: built dist/fwlab.mjs in $(took "$t")"
fi

# --- 2. Docker engine -----------------------------------------------------------------------
# An engine the user named (another host, Docker Desktop, a context): checked, never installed.
named_engine=""
if [ -n "${DOCKER_HOST:-}" ]; then named_engine="DOCKER_HOST=$DOCKER_HOST"
elif [ -n "${DOCKER_CONTEXT:-}" ]; then named_engine="DOCKER_CONTEXT=$DOCKER_CONTEXT"
elif command -v docker >/dev/null 2>&1; then
  ctx=$(docker context show 2>/dev/null || echo default)
  [ "$ctx" = default ] || named_engine="docker context $ctx"
fi
if [ -n "$named_engine" ]; then
  engine_answers || die "the engine named by $named_engine does not answer; check it with \`docker version\`"
  say "Docker engine: $named_engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null)); fwlab uses it through its API"
elif engine_answers; then
  say "Docker engine: answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
  # Live restore keeps labs running across an engine restart; turn it on in an engine we may
  # configure (root, no daemon.json of someone else's) and reload it (SIGHUP, no restart).
  if is_root && [ "$(docker info --format '{{.LiveRestoreEnabled}}' 2>/dev/null)" = false ] && [ ! -e /etc/docker/daemon.json ]; then
    mkdir -p /etc/docker && echo '{ "live-restore": true }' >/etc/docker/daemon.json
    kill -HUP "$(cat /var/run/docker.pid)" && say "Docker engine: live restore turned on (/etc/docker/daemon.json)"
  fi
else
  if ! is_root || ! is_debian; then
    die "no Docker engine answers, and this set-up can install one only as root on Debian.
  Install Docker Engine 20.10 or newer and start it (and add this user to the docker group), or
  name another engine: DOCKER_HOST=tcp://host:2376 (with DOCKER_TLS_VERIFY=1 and your
  certificates in ~/.docker), ssh://user@host, or a docker context; then run this again.
  fwlab itself needs no root: everything on the engine's host runs in its helper container."
  fi
  t=$(now)
  if ! command -v dockerd >/dev/null 2>&1; then
    say "Docker engine: installing Debian's docker.io ..."
    apt_install docker.io iptables
  fi
  say "Docker engine: starting dockerd (log: /var/log/fwlab-dockerd.log) ..."
  sh scripts/start-engine.sh || die "dockerd did not start; see /var/log/fwlab-dockerd.log"
  say "Docker engine: answers ($(docker version --format '{{.Server.Version}}')) after $(took "$t")"
fi

# The tests check the host's side themselves (bridges, DOCKER-USER, the nft tables the helper
# keeps, the host's conntrack table): they need ip, iptables, nft and conntrack here; fwlab does
# not (its helper has them).
if [ "${1:-}" = "--test" ] && [ -z "$named_engine" ]; then
  for tool in ip:iproute2 iptables:iptables nft:nftables setpriv:util-linux conntrack:conntrack; do
    if ! command -v "${tool%%:*}" >/dev/null 2>&1; then
      is_root && is_debian || die "the tests need the ${tool%%:*} command: install ${tool#*:}"
      apt_install "${tool#*:}"
    fi
  done
fi

# docker-compose (Debian's 1.29): the default lab file must also work with it; tests and the
# lifecycle benchmark compare against it.
if command -v docker-compose >/dev/null 2>&1; then
  say "docker-compose: present"
elif is_root && is_debian; then
  t=$(now)
  say "docker-compose: installing Debian's docker-compose ..."
  apt_install docker-compose
  say "docker-compose: installed in $(took "$t")"
else
  say "docker-compose: missing (optional: apt-get install docker-compose)"
fi

# Chromium, for the dashboard's browser tests (`npm test` passes --test).
if [ "${1:-}" = "--test" ]; then
  if [ -x /usr/bin/chromium ]; then
    say "chromium (browser tests): present"
  elif is_root && is_debian; then
    t=$(now)
    say "chromium (browser tests): installing Debian's chromium ..."
    apt_install chromium
    say "chromium (browser tests): installed in $(took "$t")"
  else
    die "the dashboard's browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
  fi
fi

# --- 3. lab images --------------------------------------------------------------------------
# The remote-engine test builds images as a user who is not root: mmdebstrap and uidmap.
if [ "${1:-}" = "--test" ] && is_root && is_debian; then
  for tool in mmdebstrap:mmdebstrap newuidmap:uidmap; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || apt_install "${tool#*:}"
  done
fi
fwlab() { bin/fwlab "$@"; }
if fwlab images --check >/dev/null 2>&1; then
  say "lab images: up to date"
else
  if is_root; then
    if ! command -v debootstrap >/dev/null 2>&1; then
      is_debian || die "building the base image needs debootstrap (as root) or mmdebstrap (as a user)"
      say "lab images: debootstrap is needed to build the base image"
      apt_install debootstrap
    fi
  elif ! command -v mmdebstrap >/dev/null 2>&1 || ! command -v newuidmap >/dev/null 2>&1; then
    die "building the base image without root needs mmdebstrap and uidmap (apt-get install mmdebstrap uidmap)
  and a /etc/subuid range for $(id -un); or run set-up once as root"
  fi
  t=$(now)
  say "lab images: building on the engine ..."
  fwlab images
  say "lab images: ready after $(took "$t")"
fi
