# Seed 003's port forward, checked in a user chain: the internet reaches the web server at the
# firewall's wan address, port 8080 (DNAT at nat PREROUTING, before the routing decision).
iptables -P FORWARD DROP
iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
iptables -N wan_in
iptables -A FORWARD -i wan -j wan_in
iptables -A wan_in -d 10.0.2.80 -p tcp --dport 80 -j ACCEPT
iptables -t nat -A PREROUTING -i wan -d 198.51.100.1 -p tcp --dport 8080 -j DNAT --to-destination 10.0.2.80:80
