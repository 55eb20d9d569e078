package dev.oz.worker.direct;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.testing.Assignments;
import dev.oz.worker.testing.WorkerHarness;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code WARP_METADATA_*} assignment variables are the server's: operator settings and setup output may not replace them. */
class MetadataEnvTest {
  @TempDir
  Path dir;
  private Path ran;
  private Map<String, String> hostEnv;
  private WorkerHarness worker;

  @BeforeEach
  void setUp() throws Exception {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    ran = dir.resolve("ran");
    Path oz = Files.writeString(bin.resolve("oz"), "#!/bin/sh\necho \"$WARP_METADATA_TICKET_ID\" > " + ran + "\n");
    Files.setPosixFilePermissions(oz, PosixFilePermissions.fromString("rwxr-xr-x"));
    hostEnv = new HashMap<>(Map.of("OZ_API_KEY", "k", "PATH", bin + ":/usr/bin:/bin"));
    worker = WorkerHarness.fromCommandLine();
  }

  @AfterEach
  void tearDown() throws Exception {
    worker.close();
  }

  private void start(JsonObject direct, String... flags) throws Exception {
    JsonObject conf = new JsonObject().put("metrics", new JsonObject().put("enabled", false))
        .put("direct", direct.put("workspace_root", dir.resolve("ws").toString()));
    List<String> all = new ArrayList<>(List.of("--backend", "direct", "--worker-id", "meta"));
    all.addAll(List.of(flags));
    worker.start(conf.encode(), null, hostEnv, all.toArray(String[]::new));
  }

  private JsonObject run(String id) {
    worker.assign(Assignments.data(id).put("env_vars", new JsonObject().put("WARP_METADATA_TICKET_ID", "ABC-123")));
    return worker.awaitReport(id);
  }

  @Test
  void anOperatorVariableOfTheSameNameFailsTheTaskBeforeLaunch() throws Exception {
    start(new JsonObject(), "-e", "warp_metadata_ticket_id=mine");
    assertEquals(new JsonObject().put("task_id", "m-1").put("message", "Failed to execute task: metadata environment "
            + "variable WARP_METADATA_TICKET_ID conflicts with configured environment variable \"warp_metadata_ticket_id\"")
        .put("failure_reason", "workspace_setup"), run("m-1"));
    assertFalse(Files.exists(ran), "the agent never ran");
  }

  @Test
  void theDirectEnvironmentCountsToo() throws Exception {
    start(new JsonObject().put("environment", new JsonArray().add(new JsonObject()
        .put("name", "WARP_METADATA_TICKET_ID").put("value", "x"))));
    assertEquals("workspace_setup", run("m-2").getString("failure_reason"));
  }

  @Test
  void theSetupCommandMayNotRedefineOne() throws Exception {
    start(new JsonObject().put("setup_command", "echo WARP_METADATA_TICKET_ID=changed > \"$OZ_ENVIRONMENT_FILE\""));
    JsonObject failed = run("m-3");
    assertEquals("setup_command", failed.getString("failure_reason"), failed.encode());
    assertTrue(failed.getString("message").endsWith("setup command may not redefine metadata environment variable "
        + "WARP_METADATA_TICKET_ID"), failed.getString("message"));
  }

  @Test
  void withoutAConflictTheAgentSeesTheValue() throws Exception {
    start(new JsonObject(), "-e", "OTHER=1");
    assertEquals("Task completed successfully", run("m-4").getString("message"));
    assertEquals("ABC-123", Files.readString(ran).strip());
  }
}
