#!/bin/sh
# A second Docker engine on this machine, standing in for a remote host (tests and benchmarks):
# its own network namespace, containerd, data root and exec root, listening on TCP with TLS only
# (certificates made here). fwlab reaches it as it would another machine: through the engine API
# at tcp://10.99.0.1N:2376, never by entering its namespace. See ../shared/FACTS.md, "Several
# engines on one machine".
#
#   remote-engine.sh up N      start engine N (1-9) if it is not running; prints its variables
#   remote-engine.sh env N     prints DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH for it
#   remote-engine.sh socket N  prints its root-only unix socket (benchmark baselines: docker-compose
#                              1.29's Python TLS client does not take these certificates)
#   remote-engine.sh down N    stop it and remove its namespace (its data root is kept: images stay)
#   remote-engine.sh purge N   down, then remove its data root too
#
# Layout: namespace fwr-N; veth fwrN (root) <-> eth0 (in it) on the underlay bridge fwul0
# (10.99.0.1/24 in the root namespace, the engine at 10.99.0.1N); state under /run/fwr-N, data
# under /var/lib/fwr-N, client certificates (ca.pem, cert.pem, key.pem) in /var/lib/fwr-N/client,
# readable by everyone (a test user uses them).
set -eu
cmd=${1:?usage: remote-engine.sh up|env|socket|down|purge N}
n=${2:?engine number 1-9}
case $n in [1-9]) ;; *) echo "engine number must be 1-9" >&2; exit 2 ;; esac
ns=fwr-$n
addr=10.99.0.1$n
run=/run/$ns
data=/var/lib/$ns
certs=$data/certs
client=$data/client
port=2376
log=/var/log/fwlab-$ns.log

print_env() {
  echo "DOCKER_HOST=tcp://$addr:$port"
  echo "DOCKER_TLS_VERIFY=1"
  echo "DOCKER_CERT_PATH=$client"
}

answers() {
  DOCKER_HOST=tcp://$addr:$port DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$client \
    timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

make_certs() {
  [ -s "$client/key.pem" ] && [ -s "$certs/server-key.pem" ] && return 0
  mkdir -p "$certs" "$client"
  (
    cd "$certs"
    openssl genrsa -out ca-key.pem 2048 2>/dev/null
    openssl req -x509 -new -key ca-key.pem -days 3650 -subj "/CN=fwlab test CA $ns" -out ca.pem
    openssl genrsa -out server-key.pem 2048 2>/dev/null
    openssl req -new -key server-key.pem -subj "/CN=$addr" -out server.csr
    printf 'subjectAltName = IP:%s\nextendedKeyUsage = serverAuth\n' "$addr" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 \
      -extfile server.ext -out server-cert.pem 2>/dev/null
    openssl genrsa -out client-key.pem 2048 2>/dev/null
    openssl req -new -key client-key.pem -subj "/CN=fwlab client" -out client.csr
    printf 'extendedKeyUsage = clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 \
      -extfile client.ext -out client-cert.pem 2>/dev/null
  )
  cp "$certs/ca.pem" "$client/ca.pem"
  cp "$certs/client-cert.pem" "$client/cert.pem"
  cp "$certs/client-key.pem" "$client/key.pem"
  chmod 755 "$data" "$client"
  chmod 644 "$client"/*.pem
  chmod 700 "$certs"
}

# Engines started or stopped in parallel take turns on the shared underlay.
lock() { exec 9>/run/fwr-underlay.lock && flock 9; }
unlock() { flock -u 9; exec 9>&-; }

net_up() {
  lock
  ip link show fwul0 >/dev/null 2>&1 || {
    ip link add fwul0 type bridge
    ip addr add 10.99.0.1/24 dev fwul0
    ip link set fwul0 up
  }
  # Docker's FORWARD policy is DROP and bridge netfilter is on: frames between the simulated
  # hosts (a swarm's gossip and VXLAN) pass only with this (FACTS, "Several engines").
  if iptables -n -L DOCKER-USER >/dev/null 2>&1 &&
    ! iptables -C DOCKER-USER -i fwul0 -o fwul0 -j ACCEPT 2>/dev/null; then
    iptables -I DOCKER-USER -i fwul0 -o fwul0 -j ACCEPT
  fi
  # The hosts share this kernel: their nodes' LOG lines reach its log only with this, which only
  # the first network namespace can set (a helper in fwr-N cannot).
  sysctl -qw net.netfilter.nf_log_all_netns=1 2>/dev/null || true
  [ -e "/run/netns/$ns" ] || ip netns add "$ns"
  if ! ip link show "fwr$n" >/dev/null 2>&1; then
    ip link add "fwr$n" type veth peer name eth0 netns "$ns"
    ip link set "fwr$n" master fwul0 up
    ip -n "$ns" addr add "$addr/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
  fi
  unlock
}

up() {
  if answers; then print_env; return 0; fi
  down_quiet
  make_certs
  net_up
  mkdir -p "$run" "$data/containerd" "$data/docker"
  cat >"$run/containerd.toml" <<EOF
version = 2
root = "$data/containerd"
state = "$run/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$run/containerd/containerd.sock"
[ttrpc]
  address = "$run/containerd/containerd.sock.ttrpc"
[debug]
  address = "$run/containerd/debug.sock"
EOF
  echo '{}' >"$run/daemon.json"
  # nsenter, not `ip netns exec`: that remounts /sys, and the daemon loses the cgroup hierarchy.
  setsid nohup nsenter --net="/run/netns/$ns" containerd --config "$run/containerd.toml" \
    >>"$log" 2>&1 &
  i=0
  until [ -S "$run/containerd/containerd.sock" ]; do
    i=$((i + 1)); [ "$i" -le 100 ] || { echo "containerd of $ns did not start; see $log" >&2; exit 1; }
    sleep 0.1
  done
  setsid nohup nsenter --net="/run/netns/$ns" dockerd \
    --containerd "$run/containerd/containerd.sock" --containerd-namespace "$ns" \
    --containerd-plugins-namespace "$ns-plugins" \
    --data-root "$data/docker" --exec-root "$run/exec" --pidfile "$run/dockerd.pid" \
    --bridge none --cgroup-parent "$ns" --config-file "$run/daemon.json" \
    -H "unix://$run/docker.sock" -H "tcp://$addr:$port" --tlsverify --tlscacert "$certs/ca.pem" \
    --tlscert "$certs/server-cert.pem" --tlskey "$certs/server-key.pem" \
    >>"$log" 2>&1 &
  i=0
  until answers; do
    i=$((i + 1)); [ "$i" -le 120 ] || { echo "dockerd of $ns did not answer within 60s; see $log" >&2; exit 1; }
    sleep 0.5
  done
  print_env
}

down_quiet() {
  if [ -s "$run/dockerd.pid" ]; then
    pid=$(cat "$run/dockerd.pid")
    kill "$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  pkill -f "containerd --config $run/containerd.toml" 2>/dev/null || true
  # Shims of its containers (a purge without a clean stop) die with the namespace's processes.
  pkill -f "containerd-shim.*-namespace $ns " 2>/dev/null || true
  sleep 0.2
  ip link del "fwr$n" 2>/dev/null || true
  [ -e "/run/netns/$ns" ] && ip netns del "$ns" 2>/dev/null || true
  # A killed dockerd leaves the namespaces it bind-mounted under its exec root.
  awk -v r="$run/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$run"
}

# The last engine gone, the underlay and its rule go too. (Not from `up`: engines started in
# parallel would pull the bridge from under each other.)
underlay_gc() {
  lock
  if ! ls /run/netns 2>/dev/null | grep -q '^fwr-'; then
    while iptables -D DOCKER-USER -i fwul0 -o fwul0 -j ACCEPT 2>/dev/null; do :; done
    ip link del fwul0 2>/dev/null || true
  fi
  unlock
}

case $cmd in
up) up ;;
env) print_env ;;
socket) echo "unix://$run/docker.sock" ;;
down)
  down_quiet
  underlay_gc
  ;;
purge)
  down_quiet
  underlay_gc
  rm -rf "$data"
  ;;
*) echo "usage: remote-engine.sh up|env|socket|down|purge N" >&2; exit 2 ;;
esac
