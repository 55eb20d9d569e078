# The worker as a container image. Base images are build arguments (a registry mirror, or a local JRE).
#
#   docker build -t oz-agent-worker .
#   docker run -d --name oz-worker \
#     -v /var/run/docker.sock:/var/run/docker.sock --group-add "$(stat -c %g /var/run/docker.sock)" \
#     -e OZ_API_KEY=... oz-agent-worker --worker-id my-worker -e FOO=bar
#
# Stages: runtime-base (JRE, user, entrypoint), prebuilt (jar from ./target, for CI and tests:
# docker build --target prebuilt .), build (Maven wrapper), runtime (the default: jar from build).
ARG BUILD_IMAGE=eclipse-temurin:17-jdk
ARG RUNTIME_IMAGE=eclipse-temurin:17-jre

FROM ${RUNTIME_IMAGE} AS runtime-base
ENV HOME=/tmp
# The metrics and health server binds localhost:9464 by default, as the Go worker's Prometheus exporter does;
# in a container it must answer probes and scrapers from outside. The healthcheck reads the same variables.
ENV OTEL_EXPORTER_PROMETHEUS_HOST=0.0.0.0
EXPOSE 9464
RUN mkdir -p /opt/oz-worker && chown 10001:10001 /opt/oz-worker
# Not root: give the user the Docker socket's group with --group-add.
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["java", "-XX:Flags=/opt/oz-worker/jvm.flags", "-XX:SharedArchiveFile=/opt/oz-worker/worker.jsa", "-jar", "/opt/oz-worker/worker-fat.jar", "healthcheck"]
# Class-data sharing: the classes a start-up loads, archived at build time (src/main/docker/cds-archive.sh), save
# about 40 % of start-up CPU. A JVM that cannot use the archive warns and starts without it. JVM defaults chosen for
# the image (C1 only) are in jvm.flags, which JAVA_TOOL_OPTIONS and JDK_JAVA_OPTIONS override.
COPY src/main/docker/jvm.flags /opt/oz-worker/jvm.flags
ENTRYPOINT ["java", "-XX:Flags=/opt/oz-worker/jvm.flags", "-XX:SharedArchiveFile=/opt/oz-worker/worker.jsa", "-jar", "/opt/oz-worker/worker-fat.jar"]

FROM runtime-base AS prebuilt
COPY target/worker-fat.jar /opt/oz-worker/worker-fat.jar
# the class-data-sharing archive the entrypoint names
COPY src/main/docker/cds-archive.sh /opt/oz-worker/
RUN sh /opt/oz-worker/cds-archive.sh && rm /opt/oz-worker/cds-archive.sh

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY .mvn .mvn
COPY mvnw pom.xml ./
RUN ./mvnw -B -q -ntp dependency:go-offline
COPY src src
RUN ./mvnw -B -q -ntp package -DskipTests

FROM runtime-base AS runtime
COPY --from=build /src/target/worker-fat.jar /opt/oz-worker/worker-fat.jar
COPY src/main/docker/cds-archive.sh /opt/oz-worker/
RUN sh /opt/oz-worker/cds-archive.sh && rm /opt/oz-worker/cds-archive.sh
