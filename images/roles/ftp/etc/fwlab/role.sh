# FTP server (vsftpd): user "student"/"student", files in ~student/files; passive data ports
# 30000-30009, active mode from port 20.
FWLAB_ROLE=ftp
role_start() {
  mkdir -p /var/run/vsftpd/empty
  spawn vsftpd /etc/fwlab/vsftpd.conf
}
role_check() { ready banner "$FWLAB_ADDR" 21 220; }
