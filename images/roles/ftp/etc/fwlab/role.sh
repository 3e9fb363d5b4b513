# FTP server (vsftpd): user "student"/"student", files in ~student/files; passive data ports
# 30000-30009, active mode from port 20.
FWLAB_ROLE=ftp
role_start() {
  mkdir -p /var/run/vsftpd/empty
  conf=/etc/fwlab/vsftpd.conf
  # A dual-stack node: one IPv6 socket that takes IPv4 clients too (vsftpd listens on one family).
  if [ -n "${FWLAB_ADDR6:-}" ]; then
    sed -e 's/^listen=YES/listen=NO/' -e 's/^listen_ipv6=NO/listen_ipv6=YES/' "$conf" > /run/vsftpd.conf
    conf=/run/vsftpd.conf
  fi
  spawn vsftpd "$conf"
}
role_check() { ready banner "$FWLAB_ADDR" 21 220; }
