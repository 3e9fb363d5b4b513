# Seed 003: a LOG rule in every chain of every table, for ICMP echo requests only, so each
# ping shows the path it took through the hooks. Prefixes are <table>-<chain>.
# Conntrack runs in a namespace only while some rule needs it, and the nat table sees only
# packets conntrack tracks: this rule (no target, it only matches) switches conntrack on.
iptables -t mangle -A PREROUTING -m conntrack --ctstate NEW,ESTABLISHED,RELATED,INVALID,UNTRACKED
iptables -t raw -A PREROUTING -p icmp --icmp-type echo-request -j LOG --log-prefix "raw-pre "
iptables -t raw -A OUTPUT -p icmp --icmp-type echo-request -j LOG --log-prefix "raw-out "
iptables -t mangle -A PREROUTING -p icmp --icmp-type echo-request -j LOG --log-prefix "mangle-pre "
iptables -t mangle -A INPUT -p icmp --icmp-type echo-request -j LOG --log-prefix "mangle-in "
iptables -t mangle -A FORWARD -p icmp --icmp-type echo-request -j LOG --log-prefix "mangle-fwd "
iptables -t mangle -A OUTPUT -p icmp --icmp-type echo-request -j LOG --log-prefix "mangle-out "
iptables -t mangle -A POSTROUTING -p icmp --icmp-type echo-request -j LOG --log-prefix "mangle-post "
iptables -t nat -A PREROUTING -p icmp --icmp-type echo-request -j LOG --log-prefix "nat-pre "
iptables -t nat -A INPUT -p icmp --icmp-type echo-request -j LOG --log-prefix "nat-in "
iptables -t nat -A OUTPUT -p icmp --icmp-type echo-request -j LOG --log-prefix "nat-out "
iptables -t nat -A POSTROUTING -p icmp --icmp-type echo-request -j LOG --log-prefix "nat-post "
iptables -t filter -A INPUT -p icmp --icmp-type echo-request -j LOG --log-prefix "filter-in "
iptables -t filter -A FORWARD -p icmp --icmp-type echo-request -j LOG --log-prefix "filter-fwd "
iptables -t filter -A OUTPUT -p icmp --icmp-type echo-request -j LOG --log-prefix "filter-out "
iptables -t security -A INPUT -p icmp --icmp-type echo-request -j LOG --log-prefix "security-in "
iptables -t security -A FORWARD -p icmp --icmp-type echo-request -j LOG --log-prefix "security-fwd "
iptables -t security -A OUTPUT -p icmp --icmp-type echo-request -j LOG --log-prefix "security-out "
