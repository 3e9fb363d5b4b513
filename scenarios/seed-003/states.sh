# Seed 003: the connection states, each logged as it crosses fw, with NAT both ways.
iptables -P FORWARD DROP
iptables -A FORWARD -m conntrack --ctstate NEW -j LOG --log-prefix "st-new "
iptables -A FORWARD -m conntrack --ctstate ESTABLISHED -j LOG --log-prefix "st-est "
iptables -A FORWARD -m conntrack --ctstate RELATED -j LOG --log-prefix "st-related "
iptables -A FORWARD -m conntrack --ctstate INVALID -j LOG --log-prefix "st-invalid "
iptables -A FORWARD -m conntrack --ctstate UNTRACKED -j LOG --log-prefix "st-untracked "
iptables -A FORWARD -m conntrack --ctstate SNAT -j LOG --log-prefix "st-snat "
iptables -A FORWARD -m conntrack --ctstate DNAT -j LOG --log-prefix "st-dnat "
iptables -A FORWARD -m conntrack --ctstate INVALID -j DROP
iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED,UNTRACKED -j ACCEPT
iptables -A FORWARD -i lan -m conntrack --ctstate NEW -j ACCEPT
iptables -A FORWARD -i wan -o dmz -p tcp --dport 80 -m conntrack --ctstate NEW,DNAT -j ACCEPT
# lan to the internet is masqueraded; port 8080 on fw's wan address is forwarded to the web server
iptables -t nat -A POSTROUTING -s 10.0.1.0/24 -o wan -j MASQUERADE
iptables -t nat -A PREROUTING -i wan -p tcp --dport 8080 -j DNAT --to-destination 10.0.2.80:80
# pings from the lab's web server (and their replies) are not tracked at all
iptables -t raw -A PREROUTING -s 10.0.2.80 -p icmp --icmp-type echo-request -j CT --notrack
iptables -t raw -A PREROUTING -d 10.0.2.80 -p icmp --icmp-type echo-reply -j CT --notrack
