#!/bin/sh
# Builds the fwlab base root filesystem from Debian packages, with no container registry, as a
# tar file for `docker import` (through the engine API: the engine may be on another host).
# Usage: build-rootfs.sh OUT.tar [MIRROR]
# As root it uses debootstrap and chroot; as any other user mmdebstrap in a user namespace
# (--mode=unshare: needs the mmdebstrap and uidmap packages and a /etc/subuid range for the
# user). FWLAB_ROOTFS_BUILDER=debootstrap|mmdebstrap picks one. Everything a role needs is
# installed here once, so role images are thin COPY layers.
# Without MIRROR, the mirror this machine's apt uses for bookworm (so set-up works wherever apt
# does: a local mirror, a proxy, a snapshot), else deb.debian.org.
set -eu
out=$1

# The first enabled "deb" source for the suite bookworm, from one-line .list files or deb822
# .sources files.
apt_mirror() {
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
                       if ($(i + 1) == "bookworm") { print $i; exit } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
         { uris = ""; suites = ""; types = ""; on = 1
           for (i = 1; i <= NF; i++) {
             if ($i ~ /^URIs:/) { v = $i; sub(/^URIs:[ \t]*/, "", v); uris = v }
             else if ($i ~ /^Suites:/) { v = $i; sub(/^Suites:[ \t]*/, "", v); suites = " " v " " }
             else if ($i ~ /^Types:/) { v = $i; sub(/^Types:[ \t]*/, "", v); types = " " v " " }
             else if ($i ~ /^Enabled:[ \t]*no/) on = 0
           }
           if (on && types ~ / deb / && suites ~ / bookworm /) { split(uris, u, " "); print u[1]; exit } }' "$f"
  done
}
mirror=${2:-$(apt_mirror | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}
here=$(cd "$(dirname "$0")" && pwd)
packages=$(grep -v '^\s*#' "$here/packages.txt" | grep -v '^\s*$' | paste -sd, -)
count=$(echo "$packages" | tr ',' '\n' | wc -l)
builder=${FWLAB_ROOTFS_BUILDER:-$([ "$(id -u)" = 0 ] && echo debootstrap || echo mmdebstrap)}

case $builder in
debootstrap)
  echo "builder: debootstrap as root, bookworm minbase + $count packages from $mirror"
  dir=$(mktemp -d "${TMPDIR:-/tmp}/fwlab-rootfs-XXXXXX")
  trap 'rm -rf "$dir"' EXIT
  debootstrap --variant=minbase --include="$packages" bookworm "$dir" "$mirror"
  sh "$here/configure-rootfs.sh" "$dir"
  echo "tar: the root filesystem into $out"
  tar -C "$dir" -cf "$out" .
  ;;
mmdebstrap)
  echo "builder: mmdebstrap --mode=unshare as $(id -un) (no root), bookworm minbase + $count packages from $mirror"
  command -v mmdebstrap >/dev/null 2>&1 || { echo "E: mmdebstrap is missing: apt-get install mmdebstrap uidmap" >&2; exit 1; }
  command -v newuidmap >/dev/null 2>&1 || { echo "E: newuidmap is missing: apt-get install uidmap" >&2; exit 1; }
  grep -q "^$(id -un):" /etc/subuid 2>/dev/null || { echo "E: $(id -un) has no range in /etc/subuid (usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $(id -un))" >&2; exit 1; }
  mmdebstrap --mode=unshare --variant=minbase --include="$packages" \
    --customize-hook="sh '$here/configure-rootfs.sh' \"\$1\"" \
    bookworm "$out" "$mirror"
  ;;
*)
  echo "E: FWLAB_ROOTFS_BUILDER must be debootstrap or mmdebstrap, not $builder" >&2
  exit 1
  ;;
esac
