package dev.oz.worker.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.command.InspectImageResponse;
import dev.oz.worker.testing.Engine;
import dev.oz.worker.testing.LoopbackControlPlane;
import dev.oz.worker.testing.TestVertx;
import dev.oz.worker.testing.WorkerHarness;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
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

  @Test
  void imageRunsATaskWithFlagsLikeTheGoImage() throws Exception {
    Engine.docker();
    Path root = Path.of("").toAbsolutePath();
    Path jar = Path.of(System.getProperty("worker.jar", "target/worker-fat.jar")).toAbsolutePath();
    String tag = "oz-test/worker-image:" + UUID.randomUUID().toString().substring(0, 8);
    String imageName = new ImageFromDockerfile(tag, false)
        .withFileFromPath("Dockerfile", root.resolve("Dockerfile"))
        .withFileFromPath("target/worker-fat.jar", jar)
        .withTarget("prebuilt")
        .withBuildArg("RUNTIME_IMAGE", Engine.JRE)
        .get();
    String workerId = "img-" + UUID.randomUUID().toString().substring(0, 8);
    int socketGid = (Integer) Files.getAttribute(Path.of("/var/run/docker.sock"), "unix:gid");
    try (TestVertx tv = TestVertx.create()) {
      LoopbackControlPlane cp = LoopbackControlPlane.start(tv.vertx());
      InspectImageResponse image = Engine.docker().inspectImageCmd(imageName).exec();
      assertEquals("10001:10001", image.getConfig().getUser(), "runs as a non-root user");
      assertEquals(List.of("java", "-jar", "/opt/oz-worker/worker-fat.jar"), Arrays.asList(image.getConfig().getEntrypoint()));
      assertEquals(List.of("CMD", "java", "-jar", "/opt/oz-worker/worker-fat.jar", "healthcheck"),
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

        // the image's HEALTHCHECK command as it is: it finds the port in the container's environment
        ExecResult health = worker.execInContainer("java", "-jar", "/opt/oz-worker/worker-fat.jar", "healthcheck");
        assertEquals(0, health.getExitCode(), health.getStdout() + health.getStderr());
        assertTrue(worker.getLogs().contains("Metrics and health on http://0.0.0.0:" + metricsPort), worker.getLogs());
      } finally {
        Engine.removeContainersOf(workerId);
        Engine.docker().removeImageCmd(imageName).withForce(true).exec();
      }
    }
  }

  private static int freePort() throws Exception {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
