# bench/events.ts: echo requests crossing fw are logged by LOG and NFLOG; conntrack is active.
iptables -P FORWARD ACCEPT
iptables -A FORWARD -p icmp --icmp-type echo-request -j LOG --log-prefix "bench-log "
iptables -A FORWARD -p icmp --icmp-type echo-request -j NFLOG --nflog-group 9 --nflog-prefix "bench-nflog"
iptables -A FORWARD -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT
