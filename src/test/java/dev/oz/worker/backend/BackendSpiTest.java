package dev.oz.worker.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.WorkerVerticle;
import dev.oz.worker.cli.CommandLineAccess;
import dev.oz.worker.config.ConfigException;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.testing.Assignments;
import dev.oz.worker.testing.LoopbackControlPlane;
import dev.oz.worker.testing.TestVertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backend of the test tree only ({@link ScriptedBackendFactory}), found through ServiceLoader, chosen with
 * {@code --backend}, configured through its own {@code -conf} block, YAML block and flag, runs tasks end to end.
 */
class BackendSpiTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir
  Path dir;

  private WorkerOptions load(String conf, Path yaml, String... flags) {
    // no metric pushes to a collector that is not there (its final export would hold each shutdown 5 s)
    return CommandLineAccess.load(List.of(flags), conf, yaml, Map.of("OZ_API_KEY", "spi-key", "OTEL_METRICS_EXPORTER", "none"));
  }

  @Test
  void registeredBackendRunsTasksConfiguredByItsConfBlockAndFlag() throws Exception {
    try (TestVertx tv = TestVertx.create(); LoopbackControlPlane cp = LoopbackControlPlane.start(tv.vertx())) {
      WorkerOptions o = load("{\"metrics\": {\"enabled\": false}, \"scripted\": {\"output\": \"from conf\", \"exit_code\": 3}}",
          null, "--backend", "scripted", "--worker-id", "spi-1", "--ws-url", cp.wsUrl(), "--scripted-delay", "50ms");
      String id = tv.vertx().deployVerticle(new WorkerVerticle(o)).await(20, TimeUnit.SECONDS);
      cp.awaitConnections(1, WAIT);
      cp.send(Assignments.minimal("spi-task"));
      JsonObject failed = cp.awaitMessage("task_failed", "spi-task", WAIT).getJsonObject("data");
      assertEquals(new JsonObject().put("task_id", "spi-task").put("message", "Failed to execute task: scripted exit 3")
          .put("failure_reason", "container_exit").put("exit_code", 3), failed);
      JsonObject log = cp.awaitMessage("task_log", "spi-task", WAIT).getJsonObject("data");
      assertEquals("from conf from spi-task\n", log.getString("data"));
      tv.vertx().undeploy(id).await(20, TimeUnit.SECONDS);
    }
  }

  @Test
  void backendBlockOfTheGoYamlFileReachesTheBackend() throws Exception {
    Path yaml = Files.writeString(dir.resolve("w.yaml"),
        "worker_id: spi-2\nbackend:\n  scripted:\n    output: from yaml\n");
    try (TestVertx tv = TestVertx.create(); LoopbackControlPlane cp = LoopbackControlPlane.start(tv.vertx())) {
      WorkerOptions o = load("{\"metrics\": {\"enabled\": false}}", yaml, "--ws-url", cp.wsUrl());
      assertEquals("scripted", o.getBackend(), "the YAML block selects its backend");
      String id = tv.vertx().deployVerticle(new WorkerVerticle(o)).await(20, TimeUnit.SECONDS);
      cp.awaitConnections(1, WAIT);
      cp.send(Assignments.minimal("yaml-task"));
      assertEquals("Task completed successfully",
          cp.awaitMessage("task_completed", "yaml-task", WAIT).getJsonObject("data").getString("message"));
      assertEquals("from yaml from yaml-task\n", cp.awaitMessage("task_log", "yaml-task", WAIT).getJsonObject("data")
          .getString("data"));
      tv.vertx().undeploy(id).await(20, TimeUnit.SECONDS);
    }
  }

  @Test
  void theBackendValidatesItsOwnKeys() throws Exception {
    assertEquals("unknown setting in scripted: outptu",
        assertThrows(ConfigException.class, () -> load("{\"scripted\": {\"outptu\": \"x\"}}", null,
            "--backend", "scripted", "--worker-id", "w")).getMessage());
    Path yaml = Files.writeString(dir.resolve("bad.yaml"), "worker_id: w\nbackend:\n  scripted:\n    exit: 1\n");
    assertEquals(yaml + ": line 4: unknown key \"exit\" in backend.scripted (valid: exit_code, output)",
        assertThrows(ConfigException.class, () -> load(null, yaml)).getMessage());
  }

  @Test
  void unknownBackendsListTheRegisteredOnes() {
    assertEquals("unknown backend \"lambda\" (available: command, direct, docker, kubernetes, scripted)",
        assertThrows(ConfigException.class, () -> load(null, null, "--backend", "lambda", "--worker-id", "w")).getMessage());
    assertEquals("unknown setting \"dockr\" (not a setting, and no backend has that name; backends: command, direct, docker, kubernetes, scripted)",
        assertThrows(ConfigException.class, () -> load("{\"dockr\": {}}", null, "--worker-id", "w")).getMessage());
  }
}
