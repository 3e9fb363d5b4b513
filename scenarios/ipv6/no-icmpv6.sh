# A "hardened" IPv6 policy that drops every ICMPv6 packet it does not expect, SSH allowed.
# Neighbour solicitations are ICMPv6 too: nobody on the link learns this host's MAC address.
ip6tables -P INPUT DROP
ip6tables -P FORWARD DROP
ip6tables -P OUTPUT ACCEPT
ip6tables -A INPUT -i lo -j ACCEPT
ip6tables -A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT
ip6tables -A INPUT -p ipv6-icmp -j DROP
ip6tables -A INPUT -p tcp --dport 22 -j ACCEPT
