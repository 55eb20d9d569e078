package dev.oz.worker.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.command.InspectImageResponse;
import dev.oz.worker.testing.Engine;
import dev.oz.worker.testing.LoopbackControlPlane;
import dev.oz.worker.testing.NativeTransport;
import dev.oz.worker.testing.TestVertx;
import dev.oz.worker.testing.WorkerHarness;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.ImageFromDockerfile;

/**
 * The Dockerfile's runtime (the {@code prebuilt} stage on a locally made JRE: no registry here) runs as
 * operators run the Go worker's image: Docker socket mounted, flags after the image name, env for the key.
 */
class ContainerImageIT {

  private static final String CDS = "-XX:SharedArchiveFile=/opt/oz-worker/worker.jsa";
  private static final String FLAGS = "-XX:Flags=/opt/oz-worker/jvm.flags";
  private static String imageName;
  private static int socketGid;

  @BeforeAll
  static void buildImage() throws Exception {
    Engine.docker();
    Path root = Path.of("").toAbsolutePath();
    Path jar = Path.of(System.getProperty("worker.jar", "target/worker-fat.jar")).toAbsolutePath();
    String tag = "oz-test/worker-image:" + UUID.randomUUID().toString().substring(0, 8);
    imageName = new ImageFromDockerfile(tag, false)
        .withFileFromPath("Dockerfile", root.resolve("Dockerfile"))
        .withFileFromPath("target/worker-fat.jar", jar)
        .withFileFromPath("src/main/docker/cds-archive.sh", root.resolve("src/main/docker/cds-archive.sh"))
        .withFileFromPath("src/main/docker/jvm.flags", root.resolve("src/main/docker/jvm.flags"))
        .withTarget("prebuilt")
        .withBuildArg("RUNTIME_IMAGE", Engine.JRE)
        .get();
    socketGid = (Integer) Files.getAttribute(Path.of("/var/run/docker.sock"), "unix:gid");
  }

  @AfterAll
  static void removeImage() {
    if (imageName != null) {
      Engine.docker().removeImageCmd(imageName).withForce(true).exec();
    }
  }

  /**
   * The hosted instructions, as written ({@code -v /var/run/docker.sock:... -e WARP_API_KEY=... IMAGE --worker-id
   * my-worker}), plus {@code --group-add} for the socket (the image, like the Go worker's, runs as user 10001) and no
   * network: nothing outside loopback may be reached here, so the test stops at the dial attempt.
   */
  @Test
  void hostedInstructionsDialHostedOz() throws Exception {
    String key = "wk-" + UUID.randomUUID();
    try (GenericContainer<?> worker = new GenericContainer<>(imageName)
        .withNetworkMode("none")
        .withFileSystemBind("/var/run/docker.sock", "/var/run/docker.sock")
        .withCreateContainerCmdModifier(cmd -> cmd.getHostConfig().withGroupAdd(List.of(String.valueOf(socketGid))))
        .withEnv("WARP_API_KEY", key)
        .withCommand("--worker-id", "my-worker")
        .waitingFor(Wait.forLogMessage(".*Failed to connect: .*", 1))
        .withStartupTimeout(Duration.ofSeconds(60))) {
      worker.start();
      String log = worker.getLogs();
      assertTrue(log.contains("endpoint: hosted Oz (WARP_API_KEY, no OZ_WS_URL); server root URL for agents:"
          + " https://app.warp.dev; task_log streaming off"), log);
      assertTrue(log.contains("Connecting to wss://oz.warp.dev/api/v1/selfhosted/worker/ws?worker_id=my-worker"), log);
      assertFalse(log.contains(key), "the API key is never logged");
    } finally {
      Engine.removeContainersOf("my-worker");
    }
  }

  /** The class-data archive made at build time is usable by the image's JVM ({@code -Xshare:on} refuses to start otherwise). */
  @Test
  void classDataArchiveIsUsable() throws Exception {
    try (GenericContainer<?> java = new GenericContainer<>(imageName)
        .withNetworkMode("none")
        .withCreateContainerCmdModifier(cmd -> cmd.withEntrypoint("java", "-Xshare:on", CDS, "-Xlog:cds=info",
            "-jar", "/opt/oz-worker/worker-fat.jar", "--version"))
        .withStartupCheckStrategy(new org.testcontainers.containers.startupcheck.OneShotStartupCheckStrategy()
            .withTimeout(Duration.ofSeconds(60)))) {
      java.start();
      String out = java.getLogs();
      assertTrue(out.contains("oz-agent-worker "), out);
      assertTrue(out.contains("Opened archive /opt/oz-worker/worker.jsa"), out);
    }
  }

  /**
   * The image's JVM defaults (C1 only) come from its flags file, and an operator's {@code JAVA_TOOL_OPTIONS} wins over
   * them.
   */
  @Test
  void jvmDefaultsApplyAndJavaToolOptionsOverrideThem() throws Exception {
    assertEquals("1 {config file}", tieredStopAtLevel(null));
    assertEquals("4 {environment}", tieredStopAtLevel("-XX:TieredStopAtLevel=4"));
  }

  private static String tieredStopAtLevel(String javaToolOptions) throws Exception {
    try (GenericContainer<?> jvm = new GenericContainer<>(imageName)
        .withNetworkMode("none")
        .withCreateContainerCmdModifier(cmd -> cmd.withEntrypoint("java", FLAGS, CDS, "-XX:+PrintFlagsFinal",
            "-version"))
        .withStartupCheckStrategy(new org.testcontainers.containers.startupcheck.OneShotStartupCheckStrategy()
            .withTimeout(Duration.ofSeconds(60)))) {
      if (javaToolOptions != null) {
        jvm.withEnv("JAVA_TOOL_OPTIONS", javaToolOptions);
      }
      jvm.start();
      String out = jvm.getLogs();
      Matcher m = Pattern.compile("intx TieredStopAtLevel\\s+= (\\d+)\\s+\\{product\\} (\\{[a-z ]+\\})")
          .matcher(out);
      assertTrue(m.find(), out);
      return m.group(1) + " " + m.group(2);
    }
  }

  /** The self-hosted instructions ({@code OZ_API_KEY}, {@code OZ_WS_URL}) end to end against a loopback control plane. */
  @Test
  void imageRunsATaskWithFlagsLikeTheGoImage() throws Exception {
    String workerId = "img-" + UUID.randomUUID().toString().substring(0, 8);
    try (TestVertx tv = TestVertx.create()) {
      LoopbackControlPlane cp = LoopbackControlPlane.start(tv.vertx());
      InspectImageResponse image = Engine.docker().inspectImageCmd(imageName).exec();
      assertEquals("10001:10001", image.getConfig().getUser(), "runs as a non-root user");
      assertEquals(List.of("java", FLAGS, CDS, "-jar", "/opt/oz-worker/worker-fat.jar"),
          Arrays.asList(image.getConfig().getEntrypoint()));
      assertEquals(List.of("CMD", "java", FLAGS, CDS, "-jar", "/opt/oz-worker/worker-fat.jar", "healthcheck"),
          image.getConfig().getHealthcheck().getTest());

      int metricsPort = freePort();
      try (GenericContainer<?> worker = new GenericContainer<>(imageName)
          .withNetworkMode("host")
          .withFileSystemBind("/var/run/docker.sock", "/var/run/docker.sock")
          .withCreateContainerCmdModifier(cmd -> cmd.getHostConfig().withGroupAdd(List.of(String.valueOf(socketGid))))
          .withEnv("OZ_API_KEY", "image-key")
          .withEnv("OZ_WS_URL", cp.wsUrl())
          // as the Go worker's chart places its Prometheus endpoint; the image binds it to all interfaces
          .withEnv("OTEL_EXPORTER_PROMETHEUS_PORT", String.valueOf(metricsPort))
          .withEnv("OTEL_METRICS_EXPORTER", "prometheus")
          .withCommand("--worker-id", workerId, "-e", "FOO=bar", "--pull-policy", "never")
          .waitingFor(Wait.forLogMessage(".*Successfully connected to server.*", 1))
          .withStartupTimeout(Duration.ofSeconds(60))) {
        worker.start();
        assertEquals("Bearer image-key", cp.handshakes().get(0).authorization());
        cp.send(new JsonObject().put("type", "task_assignment")
            .put("data", WorkerHarness.scriptTask("from-image", "test \"$FOO\" = bar")));
        JsonObject done = cp.awaitMessage("task_completed", "from-image", Duration.ofSeconds(60));
        assertEquals("Task completed successfully", done.getJsonObject("data").getString("message"));
        long pid = Engine.docker().inspectContainerCmd(worker.getContainerId()).exec().getState().getPidLong();
        assertTrue(NativeTransport.epollIn(pid), "the image's worker runs its event loops on Netty's epoll transport");

        // the image's HEALTHCHECK command as it is: it finds the port in the container's environment
        ExecResult health = worker.execInContainer("java", "-jar", "/opt/oz-worker/worker-fat.jar", "healthcheck");
        assertEquals(0, health.getExitCode(), health.getStdout() + health.getStderr());
        assertTrue(worker.getLogs().contains("endpoint: self-hosted control plane at " + cp.wsUrl()
            + " (configured; no server root URL set, so http://127.0.0.1:" + cp.port() + ")"), worker.getLogs());
        assertTrue(worker.getLogs().contains("Metrics and health on http://0.0.0.0:" + metricsPort), worker.getLogs());
      } finally {
        Engine.removeContainersOf(workerId);
      }
    }
  }

  private static int freePort() throws Exception {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
