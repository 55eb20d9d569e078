#!/usr/bin/env bash
# Builds the local images the tests use; no registry is needed.
#   oz-test/busybox        base image: busybox-static and its applets, imported from a folder
#   oz-test/busybox-arm64  the same files labelled linux/arm64 (for the platform check)
#   oz-test/agent          task image with /agent/entrypoint.sh built in
#   oz-test/sidecar        FROM scratch sidecar carrying /entrypoint.sh
#   oz-test/jre            busybox + a jlink'ed JRE of this machine's JDK (the worker image's base in tests)
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

# A JRE base image without a registry: jlink from the local JDK, plus the shared libraries it loads and those
# Netty's epoll library loads (libdl, librt: the eclipse-temurin base has them); the label's suffix says which set.
jdk="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"
jre_tag="$(basename "$jdk")-$("$jdk/bin/java" -version 2>&1 | head -1 | tr -dc '0-9.')-epoll"
if [ "$(docker image inspect -f '{{index .Config.Labels "oz.test.jre"}}' oz-test/jre:latest 2>/dev/null)" != "$jre_tag" ]; then
  jre="$root/jre"
  cp -a "$root/bin" "$root/tmp" "$root/workspace" "$jre/" 2>/dev/null || { mkdir -p "$jre"; cp -a "$root/bin" "$root/tmp" "$jre/"; }
  "$jdk/bin/jlink" --add-modules java.base,java.compiler,java.desktop,java.logging,java.management,java.naming,java.net.http,java.security.jgss,java.sql,jdk.crypto.ec,jdk.jfr,jdk.management,jdk.unsupported,java.xml \
    --strip-debug --no-header-files --no-man-pages --output "$jre/opt/java"
  for f in "$jre/opt/java/bin/java" "$jre"/opt/java/lib/server/libjvm.so "$jre"/opt/java/lib/lib{java,jli,net,nio,zip,jimage,verify,management,management_ext,extnet}.so; do
    [ -e "$f" ] || continue
    ldd "$f" 2>/dev/null | awk '/=> \// {print $3} /^\t\/lib/ {print $1}'
  done | { cat; for n in libdl.so.2 librt.so.1; do ldconfig -p | awk -v n="$n" '$1 == n && /x86-64|AArch64/ {print $NF; exit}'; done; } \
    | sort -u | while read -r lib; do
    mkdir -p "$jre$(dirname "$lib")"
    cp -L "$lib" "$jre$lib"
  done
  mkdir -p "$jre/lib64" && cp -L /lib64/ld-linux-x86-64.so.2 "$jre/lib64/" 2>/dev/null || true
  tar -C "$jre" -c . | docker import -c 'ENV PATH=/opt/java/bin:/bin' -c "LABEL oz.test.jre=$jre_tag" - oz-test/jre:latest >/dev/null
fi

bash "$here/../../../examples/echo-agent/build.sh" >/dev/null
echo "test images ready: $(docker images --format '{{.Repository}}:{{.Tag}}' 'oz-test/*' | sort | tr '\n' ' ')"
