# DNS server (dnsmasq). Answers the lab's names from /etc/hosts (fwlab fills it from the lab
# file) under the lab domain; the container's command adds dnsmasq options, e.g.
# --server=198.51.100.53 to forward other names, or --no-hosts --host-record=www.example.com,...
# for an "external" server.
FWLAB_ROLE=dns
role_start() {
  spawn dnsmasq --keep-in-foreground --no-resolv --log-queries --log-facility=- \
    --domain="${FWLAB_DOMAIN:-lab}" --expand-hosts --bind-dynamic "$@"
}
role_check() { ready dns "$FWLAB_ADDR"; }
