# Seed 000, the stateful ruleset exactly as published, typo included: line 17 says RELTAED.
# Loading it must fail at that line and leave the previous ruleset active.
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

iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j LOG --log-prefix "accept_input"
iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELTAED -j ACCEPT


iptables -A OUTPUT -p udp --dport 53 -j LOG --log-prefix "dns_accept"
iptables -A OUTPUT -p udp --dport 53 -j ACCEPT

iptables -A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j LOG --log-prefix "accept_out"
iptables -A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
