# Readiness checks, sourced by fwlab-init: each talks to the node's service on its lab address
# the way a peer would, retried every 20 ms until FWLAB_READY_TIMEOUT seconds have passed.
# Plain shell tools only: eight nodes start at once on two cores, and a node.js process per
# check cost a third of a second there.

# banner HOST PORT PREFIX: a TCP server greets with PREFIX (sshd "SSH-", vsftpd "220")
banner() {
  got=$(timeout 1 bash -c 'exec 3<>"/dev/tcp/$1/$2" && head -c "$3" <&3' _ "$1" "$2" "${#3}" 2>/dev/null)
  [ "$got" = "$3" ]
}

# dns HOST: the server answers "version.bind CH TXT" itself (it never forwards that one), so
# an answer means this server answers, not an upstream that may be unreachable.
dns() { [ -n "$(dig +time=1 +tries=1 +short "@$1" version.bind chaos txt 2>/dev/null)" ]; }

# http URL: a web server answers (any status)
http() { curl -sk -o /dev/null -m 1 "$1"; }

# ready CHECK ARGS...: retry until it passes or time runs out
ready() {
  tries=$(( ${FWLAB_READY_TIMEOUT:-30} * 50 ))
  until "$@"; do
    tries=$((tries - 1))
    [ "$tries" -le 0 ] && return 1
    sleep 0.02
  done
}
