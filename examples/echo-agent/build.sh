#!/usr/bin/env bash
# Builds oz-dev/echo-agent: FROM scratch, a static busybox and /entrypoint.sh. No registry needed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
busybox="$(command -v busybox || true)"
[ -n "$busybox" ] || { echo "busybox not found (apt-get install -y busybox-static)" >&2; exit 1; }
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp "$here/Dockerfile" "$here/entrypoint.sh" "$ctx/"
cp "$busybox" "$ctx/busybox"
docker build -q -t oz-dev/echo-agent:latest "$ctx" >/dev/null 2>"$ctx/build.log" || { cat "$ctx/build.log" >&2; exit 1; }
echo "built oz-dev/echo-agent:latest"
