# Seed 000, packet-filtering (stateless) ruleset: every service needs a rule pair, one in
# INPUT and one in OUTPUT. 192.168.35.X of the seed is the lab's client, 10.0.1.10.
iptables -F
iptables -P INPUT DROP
iptables -P OUTPUT DROP
iptables -P FORWARD DROP

iptables -A INPUT -s 10.0.1.10 -p tcp --dport 22 -j LOG --log-prefix "ssh_accept"
iptables -A INPUT -s 10.0.1.10 -p tcp --dport 22 -j ACCEPT
iptables -A INPUT -p tcp --dport 22 -j LOG --log-prefix "ssh_drop"
iptables -A INPUT -p tcp --dport 22 -j DROP

iptables -A INPUT -p icmp -j LOG --log-prefix "icmp_accept"
iptables -A INPUT -p icmp -j ACCEPT

iptables -A INPUT -p udp --sport 53 -j LOG --log-prefix "dns_accept"
iptables -A INPUT -p udp --sport 53 -j ACCEPT


iptables -A OUTPUT -d 10.0.1.10 -p tcp --sport 22 -j LOG --log-prefix "ssh_accept"
iptables -A OUTPUT -d 10.0.1.10 -p tcp --sport 22 -j ACCEPT
iptables -A OUTPUT -p tcp --sport 22 -j LOG --log-prefix "ssh_drop"
iptables -A OUTPUT -p tcp --sport 22 -j DROP

iptables -A OUTPUT -p icmp -j LOG --log-prefix "icmp_accept"
iptables -A OUTPUT -p icmp -j ACCEPT

iptables -A OUTPUT -p udp --dport 53 -j LOG --log-prefix "dns_accept"
iptables -A OUTPUT -p udp --dport 53 -j ACCEPT
