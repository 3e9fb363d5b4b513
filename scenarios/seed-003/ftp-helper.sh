# Seed 003: the same firewall with the FTP helper attached to control connections, so the
# data connections they announce are RELATED.
iptables -A FORWARD -m conntrack --ctstate RELATED -j LOG --log-prefix "ftp-related "
iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
iptables -A FORWARD -i lan -o dmz -p tcp --dport 21 -m conntrack --ctstate NEW -j ACCEPT
iptables -t raw -A PREROUTING -p tcp --dport 21 -j CT --helper ftp
