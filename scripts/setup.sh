#!/bin/sh
# Sets up everything fwlab needs on this machine, each step skipped in well under a second
# when it is already done:
#   1. npm packages (when package-lock.json changed) and the CLI bundle (when a source changed)
#   2. the Docker engine (Debian's docker.io; installed, started and waited for when none answers)
#      and docker-compose
#   3. the lab images (built offline from Debian packages; unchanged ones are skipped)
# Where it cannot do a step (no root, not Debian), it says what to install instead and stops.
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

# The CLI bundle (dist/fwlab.mjs): rebuilt when any source is newer.
if [ -f dist/fwlab.mjs ] && [ -z "$(find src package-lock.json -newer dist/fwlab.mjs -print -quit)" ]; then
  say "CLI bundle: up to date"
else
  t=$(now)
  node scripts/build-cli.mjs || die "building the CLI bundle failed"
  say "CLI bundle: built dist/fwlab.mjs in $(took "$t")"
fi

# --- 2. Docker engine -----------------------------------------------------------------------
if engine_answers; then
  say "Docker engine: answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
  # Live restore keeps labs running across an engine restart; turn it on in an engine we may
  # configure (root, no daemon.json of someone else's) and reload it (SIGHUP, no restart).
  if is_root && [ "$(docker info --format '{{.LiveRestoreEnabled}}' 2>/dev/null)" = false ] && [ ! -e /etc/docker/daemon.json ]; then
    mkdir -p /etc/docker && echo '{ "live-restore": true }' >/etc/docker/daemon.json
    pkill -HUP -x dockerd && say "Docker engine: live restore turned on (/etc/docker/daemon.json)"
  fi
else
  if ! is_root || ! is_debian; then
    die "no Docker engine answers, and this set-up can install one only as root on Debian.
  Install Docker Engine 20.10 or newer and docker-compose, start it, make /var/run/docker.sock
  usable by this user, then run this again. fwlab also needs root (or sudo) for the host's
  iptables (one rule per lab bridge) and, for a first image build, debootstrap."
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

# Host tools fwlab itself calls: ip (lab bridges and links), iptables (DOCKER-USER rules), nft
# (the tables that keep the host from answering a lab), nsenter (a node's sysctls).
for tool in ip:iproute2 iptables:iptables nft:nftables nsenter:util-linux; do
  if ! command -v "${tool%%:*}" >/dev/null 2>&1; then
    is_root && is_debian || die "fwlab needs the ${tool%%:*} command: install ${tool#*:}"
    apt_install "${tool#*:}"
  fi
done

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
fwlab() { bin/fwlab "$@"; }
if fwlab images --check >/dev/null 2>&1; then
  say "lab images: up to date"
else
  if ! command -v debootstrap >/dev/null 2>&1; then
    if is_root && is_debian; then
      say "lab images: debootstrap is needed to build the base image"
      apt_install debootstrap
    else
      die "building the lab images needs root and debootstrap (apt-get install debootstrap)"
    fi
  fi
  t=$(now)
  say "lab images: building ..."
  fwlab images
  say "lab images: ready after $(took "$t")"
fi
