package dev.oz.worker.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.cli.CommandLineAccess;
import dev.oz.worker.config.ConfigException;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.testing.Assignments;
import dev.oz.worker.testing.LoopbackControlPlane;
import dev.oz.worker.testing.WorkerHarness;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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

  private static final Map<String, String> ENV = Map.of("OZ_API_KEY", "spi-key");

  private WorkerOptions load(String conf, Path yaml, String... flags) {
    return CommandLineAccess.load(List.of(flags), conf, yaml, ENV);
  }

  @Test
  void registeredBackendRunsTasksConfiguredByItsConfBlockAndFlag() throws Exception {
    try (WorkerHarness h = WorkerHarness.fromCommandLine()) {
      LoopbackControlPlane cp = h.cp;
      h.start("{\"metrics\": {\"enabled\": false}, \"scripted\": {\"output\": \"from conf\", \"exit_code\": 3}}",
          null, ENV, "--backend", "scripted", "--worker-id", "spi-1", "--scripted-delay", "50ms");
      cp.send(Assignments.minimal("spi-task"));
      JsonObject failed = cp.awaitMessage("task_failed", "spi-task", WAIT).getJsonObject("data");
      assertEquals(new JsonObject().put("task_id", "spi-task").put("message", "Failed to execute task: scripted exit 3")
          .put("failure_reason", "container_exit").put("exit_code", 3), failed);
      JsonObject log = cp.awaitMessage("task_log", "spi-task", WAIT).getJsonObject("data");
      assertEquals("from conf from spi-task\n", log.getString("data"));
    }
  }

  @Test
  void backendBlockOfTheGoYamlFileReachesTheBackend() throws Exception {
    Path yaml = Files.writeString(dir.resolve("w.yaml"),
        "worker_id: spi-2\nbackend:\n  scripted:\n    output: from yaml\n");
    try (WorkerHarness h = WorkerHarness.fromCommandLine()) {
      LoopbackControlPlane cp = h.cp;
      WorkerOptions o = h.load("{\"metrics\": {\"enabled\": false}}", yaml, ENV);
      assertEquals("scripted", o.getBackend(), "the YAML block selects its backend");
      h.deploy();
      cp.send(Assignments.minimal("yaml-task"));
      assertEquals("Task completed successfully",
          cp.awaitMessage("task_completed", "yaml-task", WAIT).getJsonObject("data").getString("message"));
      assertEquals("from yaml from yaml-task\n", cp.awaitMessage("task_log", "yaml-task", WAIT).getJsonObject("data")
          .getString("data"));
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
