#!/bin/sh
# Builds the image's class-data-sharing archive from every class two start-ups load (JDK classes included, so it
# also works on a JRE that ships without the JDK's own archive). The image build has no engine: a local control
# plane and a Docker worker start as far as they can without one (the engine client, the ops server); then a
# worker on the direct backend (a stand-in for the oz CLI) connects to a local control plane and loads the
# OpenTelemetry SDK.
set -u
jar=/opt/oz-worker/worker-fat.jar
java -XX:DumpLoadedClassList=/tmp/docker.classes -jar "$jar" dev --port 0 >/dev/null 2>&1
java -XX:DumpLoadedClassList=/tmp/connected.classes -jar "$jar" dev --port 18080 \
  --backend direct -conf '{"direct": {"oz_path": "/bin/true", "workspace_root": "/tmp/ws"}}' >/tmp/connected.log 2>&1 &
pid=$!
for i in $(seq 60); do grep -q "OpenTelemetry:" /tmp/connected.log && break; sleep 1; done
kill $pid
wait $pid
set -e
awk '!seen[$0]++' /tmp/docker.classes /tmp/connected.classes > /tmp/worker.classes
java -Xshare:dump -XX:SharedClassListFile=/tmp/worker.classes -XX:SharedArchiveFile=/opt/oz-worker/worker.jsa \
  -cp "$jar" >/dev/null 2>&1
rm -r /tmp/*.classes /tmp/connected.log /tmp/ws
test -s /opt/oz-worker/worker.jsa
