# Seed 003: the nat table is consulted for the first packet of a connection only; filter for all.
iptables -t nat -A PREROUTING -p tcp --dport 80 -j LOG --log-prefix "nat-pre "
iptables -A FORWARD -p tcp --dport 80 -j LOG --log-prefix "filter-fwd "
# (the conntrack match switches conntrack on in this namespace; without it nat sees nothing)
iptables -t mangle -A PREROUTING -m conntrack --ctstate NEW,ESTABLISHED,RELATED,INVALID,UNTRACKED
