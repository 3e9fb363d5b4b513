# Stateful IPv6 forwarding on fw: lan may reach the dmz's web server and any UDP port there;
# answers, and ICMPv6 errors about allowed flows, come back as ESTABLISHED or RELATED.
ip6tables -P FORWARD DROP
ip6tables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
ip6tables -A FORWARD -i lan -o dmz -p tcp --dport 80 -j ACCEPT
ip6tables -A FORWARD -i lan -o dmz -p udp -j ACCEPT
