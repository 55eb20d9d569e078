# Sourced by the scripts in .ci/: makes sure a Docker engine answers on this machine.
# On a fresh Debian machine (root, no engine running) it installs Debian's engine and starts it.

ensure_engine() {
  # the tests also start engines of their own (ip for their bridges, openssl for their TLS certificates)
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v busybox >/dev/null 2>&1 \
      || ! command -v ip >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
      echo "Installing the test tools needs root: apt-get install -y docker.io busybox-static iproute2 openssl" >&2
      return 1
    fi
    echo "Installing the Docker engine (docker.io), busybox-static, iproute2 and openssl..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq docker.io busybox-static iproute2 openssl >/dev/null
  fi
  if docker info >/dev/null 2>&1; then
    return 0
  fi
  if ! docker info >/dev/null 2>&1; then
    # a dockerd that is still starting (or stopping) gets a moment; a pid file without a process is stale
    for _ in $(seq 1 20); do
      pgrep -x dockerd >/dev/null 2>&1 || break
      docker info >/dev/null 2>&1 && return 0
      sleep 1
    done
    if ! pgrep -x dockerd >/dev/null 2>&1; then
      rm -f /var/run/docker.pid
      echo "Starting dockerd (log: /tmp/oz-dockerd.log)..." >&2
      nohup dockerd >/tmp/oz-dockerd.log 2>&1 &
    fi
    for _ in $(seq 1 60); do
      docker info >/dev/null 2>&1 && break
      sleep 1
    done
  fi
  if ! docker info >/dev/null 2>&1; then
    echo "The Docker engine did not come up; last lines of /tmp/oz-dockerd.log:" >&2
    tail -20 /tmp/oz-dockerd.log >&2 || true
    return 1
  fi
}

# Testcontainers against the local engine: no Ryuk (it would pull an image), no registry checks.
export TESTCONTAINERS_RYUK_DISABLED=true
export TESTCONTAINERS_HOST_OVERRIDE=localhost
export TESTCONTAINERS_CHECKS_DISABLE=true
