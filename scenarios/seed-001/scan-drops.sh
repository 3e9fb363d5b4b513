# Seed 001: drop NULL, XMAS and new-but-not-SYN packets (before anything accepts them), then a high port range.
iptables -P INPUT ACCEPT
iptables -F
iptables -A INPUT -i lo -j ACCEPT
iptables -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
iptables -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
iptables -P INPUT DROP
iptables -P FORWARD DROP
iptables -P OUTPUT ACCEPT
iptables -I INPUT 1 -p tcp --tcp-flags ALL NONE -j DROP
iptables -I INPUT 2 -p tcp ! --syn -m state --state NEW -j DROP
iptables -I INPUT 3 -p tcp --tcp-flags ALL ALL -j DROP
iptables -A INPUT -p tcp --dport 8000:8100 -j ACCEPT
