# Seed 001's MAC rule with host3's real MAC (fwlab derives it from the address: 02:42 + c0:a8:00:03).
iptables -P INPUT DROP
iptables -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
iptables -A INPUT -s 192.168.0.3 -m mac --mac-source 02:42:c0:a8:00:03 -j ACCEPT
