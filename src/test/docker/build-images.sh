#!/usr/bin/env bash
# Builds the local images the tests use; no registry is needed.
#   oz-test/busybox        base image: busybox-static and its applets, imported from a folder
#   oz-test/busybox-arm64  the same files labelled linux/arm64 (for the platform check)
#   oz-test/agent          task image with /agent/entrypoint.sh built in
#   oz-test/sidecar        FROM scratch sidecar carrying /entrypoint.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
busybox="$(command -v busybox || true)"
[ -n "$busybox" ] || { echo "busybox not found (apt-get install -y busybox-static)" >&2; exit 1; }

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/workspace"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
chmod 1777 "$root/tmp"
tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' - oz-test/busybox:latest >/dev/null

# The same image claiming linux/arm64: re-label the saved image config (its ID is the config's digest).
saved="$root/saved"
mkdir -p "$saved"
docker save oz-test/busybox:latest | tar -x -C "$saved"
python3 - "$saved" <<'PY'
import hashlib, json, os, sys
d = sys.argv[1]
manifest = json.load(open(os.path.join(d, "manifest.json")))
old = manifest[0]["Config"]
config = json.load(open(os.path.join(d, old)))
config["architecture"] = "arm64"
data = json.dumps(config, separators=(",", ":")).encode()
new = hashlib.sha256(data).hexdigest() + ".json"
open(os.path.join(d, new), "wb").write(data)
os.remove(os.path.join(d, old))
manifest[0]["Config"] = new
manifest[0]["RepoTags"] = ["oz-test/busybox-arm64:latest"]
json.dump(manifest, open(os.path.join(d, "manifest.json"), "w"))
PY
rm -f "$saved/repositories"
tar -C "$saved" -c . | docker load -q >/dev/null

build() {
  local log
  log="$(mktemp)"
  docker build -q -t "$1" "$2" >/dev/null 2>"$log" || { cat "$log" >&2; rm -f "$log"; exit 1; }
  rm -f "$log"
}
build oz-test/agent:latest "$here/agent"
build oz-test/sidecar:latest "$here/sidecar"
echo "test images ready: $(docker images --format '{{.Repository}}:{{.Tag}}' 'oz-test/*' | sort | tr '\n' ' ')"
