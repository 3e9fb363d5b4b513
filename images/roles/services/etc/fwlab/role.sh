# Generic service host: listens on the ports given as the container's command
# ("tcp:25 tcp:3306 udp:123 ..."), for rules about services that have no real daemon here.
FWLAB_ROLE=services
role_start() {
  rm -f /run/fwlab/services.ready
  spawn node /usr/local/lib/fwlab/services.js "$@"
}
role_check() { ready test -f /run/fwlab/services.ready; }
