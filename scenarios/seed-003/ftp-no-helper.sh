# Seed 003: a stateful firewall that allows FTP's control port and ESTABLISHED,RELATED only.
# Since Linux 6.0 no conntrack helper is attached by itself: the data connections are NEW.
iptables -P FORWARD DROP
iptables -A FORWARD -m conntrack --ctstate RELATED -j LOG --log-prefix "ftp-related "
iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
iptables -A FORWARD -i lan -o dmz -p tcp --dport 21 -m conntrack --ctstate NEW -j ACCEPT
