# Seed 001, rule order: the subnet is dropped first, so the later ACCEPT for one host in it
# never sees a packet.
iptables -P INPUT ACCEPT
iptables -A INPUT -s 192.168.0.0/24 -j DROP
iptables -A INPUT -s 192.168.0.3 -j ACCEPT
