#!/bin/sh
# Builds the fwlab base root filesystem from Debian packages, with no container registry.
# Usage: build-rootfs.sh DIR [MIRROR]   (run as root; needs debootstrap)
# Everything a role needs is installed here once, so role images are thin COPY layers.
# Without MIRROR, the mirror this machine's apt uses for bookworm (so set-up works wherever apt
# does: a local mirror, a proxy, a snapshot), else deb.debian.org.
set -eu
dir=$1

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

echo "debootstrap: bookworm minbase + $(echo "$packages" | tr ',' '\n' | wc -l) packages from $mirror"
debootstrap --variant=minbase --include="$packages" bookworm "$dir" "$mirror"

in_root() { chroot "$dir" /bin/sh -eu -c "$1"; }

echo "configure: lab user, keys, TLS certificate"
# The lab's test user (ssh, ftp): password and key. Every image carries the same key pair, so the
# client role can log in with it wherever the ssh role runs. The password gets a cheap hash on
# purpose: the default (yescrypt) made each FTP or SSH password login cost 0.4-0.5 s on a busy
# 2-core machine, longer than a probe timeout; it is a lab password.
in_root '
  useradd --create-home --shell /bin/bash student
  echo student:student | chpasswd -c SHA512 -s 1000
  mkdir -p /home/student/.ssh /home/student/files /etc/fwlab/keys /etc/fwlab/tls
  ssh-keygen -q -t ed25519 -N "" -C student@fwlab -f /etc/fwlab/keys/student
  cp /etc/fwlab/keys/student.pub /home/student/.ssh/authorized_keys
  printf "hello from the fwlab ftp server\n" > /home/student/files/hello.txt
  yes fwlab-data | head -c 1048576 > /home/student/files/data-1M.bin
  chown -R student:student /home/student
  chmod 700 /home/student/.ssh
  chmod 644 /etc/fwlab/keys/student /etc/fwlab/keys/student.pub
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=web.lab \
    -keyout /etc/fwlab/tls/key.pem -out /etc/fwlab/tls/cert.pem 2>/dev/null
'

echo "trim: docs, man pages, locales, apt caches"
rm -rf "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* \
  "$dir"/usr/share/locale/* "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* \
  "$dir"/var/log/*.log "$dir"/var/cache/debconf/*-old
# Docker manages these per container.
: > "$dir/etc/hostname"
