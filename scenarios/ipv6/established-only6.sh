# The same, with RELATED left out: ICMPv6 errors about allowed flows are dropped now.
ip6tables -P FORWARD DROP
ip6tables -A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT
ip6tables -A FORWARD -i lan -o dmz -p tcp --dport 80 -j ACCEPT
ip6tables -A FORWARD -i lan -o dmz -p udp -j ACCEPT
