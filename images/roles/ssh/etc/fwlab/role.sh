# SSH server: user "student", password "student", and the lab key (/etc/fwlab/keys/student).
FWLAB_ROLE=ssh
role_start() {
  mkdir -p /run/sshd
  spawn /usr/sbin/sshd -D -e -o UseDNS=no
}
role_check() { ready banner "$FWLAB_ADDR" 22 SSH-; }
