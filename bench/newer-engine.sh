#!/usr/bin/env bash
# A second, newer Docker engine (Debian trixie's docker.io 26.x) beside the machine's own, for measuring the
# worker against Engine >= 23 (bench/RESULTS.md). Needs root and the Debian archive. Leaves /var/run/docker.sock
# and the system's packages alone: the .debs are unpacked under $ROOT, the engine has its own data root, exec
# root, socket, containerd and bridge.
#
#   bash bench/newer-engine.sh start   # fetch if needed, start, copy the bench images; prints DOCKER_HOST
#   bash bench/newer-engine.sh stop    # stop the engine and its containerd, remove the bridge and its state
#
# Then e.g. DOCKER_HOST=unix:///tmp/engine26/docker.sock ./mvnw verify -Pbench -Dit.test=WorkerBench -Dbench.only=trivial
set -euo pipefail

ROOT=${ENGINE26_ROOT:-/opt/engine26}           # unpacked packages
STATE=${ENGINE26_STATE:-/tmp/engine26}         # data, exec root, sockets, logs
BRIDGE=${ENGINE26_BRIDGE:-oz-e26}
SUBNET=${ENGINE26_SUBNET:-10.214.1.1/24}
SUITE=trixie
# the images WorkerBench and the integration tests check for (testing/Engine)
IMAGES=(oz-dev/echo-agent:latest oz-test/busybox:latest oz-test/busybox-arm64:latest oz-test/agent:latest oz-test/sidecar:latest oz-test/jre:latest)

fetch() {
  [[ -x $ROOT/usr/sbin/dockerd ]] && return
  local tmp; tmp=$(mktemp -d)
  echo "deb http://deb.debian.org/debian $SUITE main" >"$tmp/sources.list"
  mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/debs"
  local opts=(-o Dir::Etc::sourcelist="$tmp/sources.list" -o Dir::Etc::sourceparts=/dev/null
    -o Dir::State::Lists="$tmp/lists" -o Dir::Cache="$tmp/cache" -o APT::Get::List-Cleanup=0)
  apt-get "${opts[@]}" update >/dev/null
  (cd "$tmp/debs" && apt-get "${opts[@]}" download docker.io containerd tini)
  mkdir -p "$ROOT"
  for deb in "$tmp"/debs/*.deb; do dpkg -x "$deb" "$ROOT"; done
  rm -rf "$tmp"
}

# dockerd and containerd from trixie run on bookworm's glibc (2.34 symbols); trixie's runc needs glibc 2.38,
# so the system's runc is used (the runtime does not take part in the exit's ordering inside dockerd).
bindir() {
  mkdir -p "$STATE/bin"
  ln -sf "$ROOT/usr/sbin/dockerd" "$ROOT/usr/sbin/docker-proxy" "$ROOT/usr/bin/containerd" \
    "$ROOT/usr/bin/containerd-shim-runc-v2" "$STATE/bin/"
  ln -sf "$ROOT/usr/bin/tini-static" "$STATE/bin/docker-init"
  ln -sf "$(command -v runc)" "$STATE/bin/runc"
}

start() {
  fetch
  bindir
  mkdir -p "$STATE"/{data,exec,containerd/root,containerd/state}
  export PATH="$STATE/bin:$PATH"
  ip link show "$BRIDGE" >/dev/null 2>&1 || { ip link add "$BRIDGE" type bridge; ip addr add "$SUBNET" dev "$BRIDGE"; }
  ip link set "$BRIDGE" up
  cat >"$STATE/containerd.toml" <<EOF
version = 2
root = "$STATE/containerd/root"
state = "$STATE/containerd/state"
[grpc]
  address = "$STATE/containerd.sock"
[ttrpc]
  address = "$STATE/containerd.sock.ttrpc"
[debug]
  address = "$STATE/containerd-debug.sock"
[metrics]
  address = ""
EOF
  setsid containerd --config "$STATE/containerd.toml" >>"$STATE/containerd.log" 2>&1 &
  echo $! >"$STATE/containerd.pid"
  for _ in $(seq 50); do [[ -S $STATE/containerd.sock ]] && break; sleep 0.2; done
  setsid dockerd --containerd "$STATE/containerd.sock" --data-root "$STATE/data" --exec-root "$STATE/exec" \
    --pidfile "$STATE/docker.pid" -H "unix://$STATE/docker.sock" --config-file /dev/null \
    --bridge "$BRIDGE" --iptables=false --ip6tables=false >>"$STATE/dockerd.log" 2>&1 &
  echo $! >"$STATE/dockerd.pid"
  for _ in $(seq 100); do docker -H "unix://$STATE/docker.sock" version >/dev/null 2>&1 && break; sleep 0.2; done
  docker -H "unix://$STATE/docker.sock" version --format 'engine {{.Server.Version}} (API {{.Server.APIVersion}})'
  docker save "${IMAGES[@]}" | docker -H "unix://$STATE/docker.sock" load
  echo "DOCKER_HOST=unix://$STATE/docker.sock"
}

stop() {
  local sock="unix://$STATE/docker.sock"
  if [[ -S $STATE/docker.sock ]]; then
    docker -H "$sock" ps -aq | xargs -r docker -H "$sock" rm -f >/dev/null || true
  fi
  for p in dockerd containerd; do
    [[ -f $STATE/$p.pid ]] || continue
    local pid; pid=$(cat "$STATE/$p.pid")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$STATE/$p.pid"
  done
  grep -o " $STATE/[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  ip link show "$BRIDGE" >/dev/null 2>&1 && ip link del "$BRIDGE"
  rm -rf "$STATE"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
