# Firewall/router: iptables (nft and legacy), nftables, conntrack-tools, tcpdump, ulogd2,
# and sshd (seed 000 logs into the firewall itself). Forwarding comes from the lab's sysctls.
FWLAB_ROLE=firewall
role_start() {
  mkdir -p /run/sshd /run/fwlab
  spawn /usr/sbin/sshd -D -e -o UseDNS=no
}
role_check() {
  ready banner "$FWLAB_ADDR" 22 SSH-
}
