# Seed 002: a stateful forwarding firewall, so conntrack tracks what crosses fw.
iptables -P FORWARD DROP
iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
iptables -A FORWARD -i lan -m conntrack --ctstate NEW -j ACCEPT
