# Seed 003: a user chain; RETURN hands the packet back to the chain that jumped.
iptables -N CHECK
iptables -A FORWARD -p icmp --icmp-type echo-request -j CHECK
iptables -A FORWARD -j ACCEPT
iptables -A CHECK -s 10.0.1.10 -j RETURN
iptables -A CHECK -j DROP
