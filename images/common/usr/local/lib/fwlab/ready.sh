# Readiness checks, sourced by fwlab-init: each talks to the node's service on its lab address
# the way a peer would, retried every 20 ms until FWLAB_READY_TIMEOUT seconds have passed.
# Plain shell tools only: eight nodes start at once on two cores, and a node.js process per
# check cost a third of a second there.
#
# A try gets $wait_s seconds. One that ran out of time (connected, but the service had not
# answered yet: sshd forks and re-executes itself for every connection) doubles it, up to 8:
# on hosts busy enough that an answer takes longer than a try allows, a fixed 1 s cut every
# try short, each one cost the service another start, and the node never got ready however
# long the deadline (six labs across three engines on two cores, in CI). A refused connection
# fails at once and is retried at the same pace as before.
wait_s=1
slower() { [ "$1" = "$2" ] && [ "$wait_s" -lt 8 ] && wait_s=$((wait_s * 2)); return 1; }

# banner HOST PORT PREFIX: a TCP server greets with PREFIX (sshd "SSH-", vsftpd "220")
banner() {
  got=$(timeout "$wait_s" bash -c 'exec 3<>"/dev/tcp/$1/$2" && head -c "$3" <&3' _ "$1" "$2" "${#3}" 2>/dev/null)
  rc=$?
  [ "$got" = "$3" ] || slower "$rc" 124
}

# dns HOST: the server answers "version.bind CH TXT" itself (it never forwards that one), so
# an answer means this server answers, not an upstream that may be unreachable.
dns() {
  got=$(dig +time="$wait_s" +tries=1 +short "@$1" version.bind chaos txt 2>/dev/null)
  rc=$?
  [ -n "$got" ] || slower "$rc" 9
}

# http URL: a web server answers (any status)
http() { curl -sk -o /dev/null -m "$wait_s" "$1" || slower "$?" 28; }

# $now: seconds since boot, without a process per try (dash has no $SECONDS).
clock() { read -r up _ < /proc/uptime; now=${up%.*}; }

# ready CHECK ARGS...: retry until it passes or time runs out (a deadline, not a count of
# tries: a try may take up to $wait_s)
ready() {
  clock
  deadline=$((now + ${FWLAB_READY_TIMEOUT:-30}))
  until "$@"; do
    clock
    [ "$now" -ge "$deadline" ] && return 1
    sleep 0.02
  done
}
