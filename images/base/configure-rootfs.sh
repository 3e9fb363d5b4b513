#!/bin/sh
# The fwlab base root filesystem's own files, after its packages are in: the lab user, keys, a
# TLS certificate, then what no container needs. Run by build-rootfs.sh with the root's folder
# (as root for debootstrap, or inside mmdebstrap's user namespace, where chroot works too).
set -eu
dir=$1

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
