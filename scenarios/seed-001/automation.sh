#!/bin/bash
# Seed 001's automation script, as published.
iptables -F

iptables -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT

iptables -P INPUT DROP
iptables -P FORWARD DROP
iptables -P OUTPUT ACCEPT

iptables -A INPUT -i lo -j ACCEPT

iptables -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT

iptables -A INPUT -p tcp --dport 80 -j ACCEPT

/sbin/service iptables save

iptables -L -v
