# Services host (the lab's "internet"): real servers on the ports given as the container's
# command ("ssh:22 smtp:25 http:80 https:443 dns:53 echo:7"), a generic answer on any other
# ("tcp:3306 udp:123 tcp:6881-6890"); see /usr/local/lib/fwlab/services.js.
FWLAB_ROLE=services
role_start() {
  rm -f /run/fwlab/services.ready
  spawn node /usr/local/lib/fwlab/services.js "$@"
}
role_check() { ready test -f /run/fwlab/services.ready; }
