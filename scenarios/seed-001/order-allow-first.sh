# Seed 001, rule order the right way round: allow the host, then drop its subnet.
iptables -P INPUT ACCEPT
iptables -A INPUT -s 192.168.0.3 -j ACCEPT
iptables -A INPUT -s 192.168.0.0/24 -j DROP
