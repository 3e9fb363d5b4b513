# Seed 001's basic policy for IPv6 (what CentOS keeps in /etc/sysconfig/ip6tables): loopback,
# ESTABLISHED/RELATED, SSH; INPUT and FORWARD drop. Neighbour discovery is ICMPv6: without it
# no IPv6 host on the link finds this one, so it is allowed (RFC 4890), as is echo.
ip6tables -P INPUT ACCEPT
ip6tables -F
ip6tables -A INPUT -i lo -j ACCEPT
ip6tables -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
ip6tables -A INPUT -p ipv6-icmp --icmpv6-type neighbour-solicitation -j ACCEPT
ip6tables -A INPUT -p ipv6-icmp --icmpv6-type neighbour-advertisement -j ACCEPT
ip6tables -A INPUT -p ipv6-icmp --icmpv6-type echo-request -j ACCEPT
ip6tables -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
ip6tables -P INPUT DROP
ip6tables -P FORWARD DROP
ip6tables -P OUTPUT ACCEPT
