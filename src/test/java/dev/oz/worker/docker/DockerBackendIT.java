package dev.oz.worker.docker;

import static dev.oz.worker.testing.WorkerHarness.scriptTask;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.Container;
import dev.oz.worker.config.EnvEntry;
import dev.oz.worker.testing.Assignments;
import dev.oz.worker.testing.DockerSettings;
import dev.oz.worker.testing.Engine;
import dev.oz.worker.testing.LogCapture;
import dev.oz.worker.testing.Waits;
import dev.oz.worker.testing.WorkerHarness;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Control plane -> worker -> real engine -> report, for each case of PROTOCOL.md section 4. */
class DockerBackendIT {
  @TempDir
  Path tmp;

  private static JsonObject data(JsonObject report) {
    return report.getJsonObject("data");
  }

  /** The operator's container policy, given as flags, on the container the engine ran. */
  @Test
  void containerPolicyFlagsReachTheTaskContainer() {
    List<String> flags = List.of("--default-vcpus", "0.5", "--default-memory-gb", "0.5", "--pids-limit", "64",
        "--network", "none", "--runtime", "runc", "--cap-drop", "NET_RAW", "--cap-drop", "MKNOD",
        "--no-new-privileges", "--read-only", "--ulimit", "nofile=1024:2048");
    try (WorkerHarness h = WorkerHarness.start(o -> {
      o.setCleanup(false);
      dev.oz.worker.cli.CommandLine.parse(flags, dev.oz.worker.backend.BackendRegistry.load().settings())
          .applyTo(o, Map.of());
    })) {
      // the root is read-only, /workspace and /tmp are not; no network but loopback
      JsonObject done = h.run(scriptTask("policy", "touch /workspace/w && touch /tmp/t && ! touch /etc/x 2>/dev/null"
          + " && test \"$(ls /sys/class/net)\" = lo"));
      assertEquals("task_completed", done.getString("type"), done.encode());
      InspectContainerResponse c = Engine.docker().inspectContainerCmd(Engine.containersOf(h.workerId()).get(0).getId()).exec();
      var host = c.getHostConfig();
      assertEquals(500_000_000L, host.getNanoCPUs());
      assertEquals(512L << 20, host.getMemory());
      assertEquals(512L << 20, host.getMemorySwap());
      assertEquals(64L, host.getPidsLimit());
      assertEquals("none", host.getNetworkMode());
      assertEquals("runc", host.getRuntime());
      assertEquals(List.of("NET_RAW", "MKNOD"), Arrays.stream(host.getCapDrop()).map(Enum::name).toList());
      assertEquals(List.of("no-new-privileges"), host.getSecurityOpts());
      assertTrue(host.getReadonlyRootfs());
      assertEquals(Map.of("/workspace", "", "/tmp", ""), host.getTmpFs());
      assertEquals("nofile", host.getUlimits()[0].getName());
      assertEquals(List.of(1024L, 2048L), List.of(host.getUlimits()[0].getSoft().longValue(),
          host.getUlimits()[0].getHard().longValue()));
    }
  }

  @Test
  void theAssignmentsShapeWinsOverThePolicyDefaults() {
    try (WorkerHarness h = WorkerHarness.start(o -> {
      o.setCleanup(false);
      DockerSettings.edit(o, d -> d.setPolicy(new ContainerPolicy(2, 2, 0, null, null, List.of(), false, false, List.of())));
    })) {
      h.run(scriptTask("shaped", "true").put("instance_shape", new JsonObject().put("vcpus", 1).put("memory_gb", 1)));
      var host = Engine.docker().inspectContainerCmd(Engine.containersOf(h.workerId()).get(0).getId()).exec().getHostConfig();
      assertEquals(1_000_000_000L, host.getNanoCPUs());
      assertEquals(1L << 30, host.getMemory());
    }
  }

  @Test
  void richTeamTaskContainerIsCreatedExactlyPerContract() throws Exception {
    Path shared = Files.createDirectories(tmp.resolve("shared"));
    try (WorkerHarness h = WorkerHarness.start(o -> {
      o.setCleanup(false).setServerRootUrl("https://oz.example");
      DockerSettings.edit(o, d -> d.addVolume(shared + ":/data:ro").setEnvironment(List.of(new EnvEntry("WORKER_VAR", "w1"))));
    })) {
      JsonObject snapshot = new JsonObject()
          .put("environment_id", "env-1").put("model_id", "m-1").put("profile_id", "p-1")
          .put("mcp_servers", new JsonObject().put("b", new JsonObject().put("x", 1)).put("a", new JsonObject()))
          .put("harness", new JsonObject().put("type", "oz"))
          .put("session_sharing", new JsonObject().put("public_access", "VIEWER"))
          .put("idle_timeout_minutes", 5);
      JsonObject task = Assignments.data("team-1")
          .put("docker_image", Engine.BUSYBOX)
          .put("sidecar_image", Engine.SIDECAR)
          .put("additional_sidecars", new JsonArray().add(new JsonObject()
              .put("image", Engine.SIDECAR).put("mount_path", "/tools").put("read_write", true)))
          .put("env_vars", new JsonObject().put("TEST_SCRIPT", "cat /agent/VERSION; ls /data").put("SECOND", "two"))
          .put("additional_oz_args", new JsonArray().add("--extra"))
          .put("instance_shape", new JsonObject().put("vcpus", 1).put("memory_gb", 1));
      task.getJsonObject("task").put("owner", new JsonObject().put("Type", "TEAM").put("Id", 3))
          .put("agent_config_snapshot", snapshot);

      JsonObject report = h.run(task);
      assertEquals("task_completed", report.getString("type"), report.encode());

      List<Container> containers = Engine.containersOf(h.workerId());
      assertEquals(1, containers.size());
      InspectContainerResponse c = Engine.docker().inspectContainerCmd(containers.get(0).getId()).exec();
      assertEquals(List.of("/agent/entrypoint.sh", "agent", "run", "--share", "team:edit", "--task-id", "team-1",
          "--sandboxed", "--server-root-url", "https://oz.example", "--model", "m-1", "--profile", "p-1",
          "--mcp", "{\"a\":{},\"b\":{\"x\":1}}", "--computer-use", "--harness", "oz", "--share", "public:view",
          "--environment", "env-1", "--extra", "--idle-on-complete", "5m"), Arrays.asList(c.getConfig().getCmd()));
      assertEquals(List.of("TASK_ID=team-1", "GIT_TERMINAL_PROMPT=0", "GH_PROMPT_DISABLED=1",
          "WARP_SERVER_ROOT_URL=https://oz.example", "TEST_SCRIPT=cat /agent/VERSION; ls /data", "SECOND=two",
          "WORKER_VAR=w1"), Arrays.asList(c.getConfig().getEnv()).subList(0, 7));
      assertEquals("/workspace", c.getConfig().getWorkingDir());
      String volume = SidecarVolumes.volumeName(Engine.SIDECAR,
          Engine.docker().inspectImageCmd(Engine.SIDECAR).exec().getId());
      assertEquals(List.of(volume + ":/agent:ro", volume + ":/tools:rw", shared + ":/data:ro"),
          Arrays.asList(c.getHostConfig().getBinds()).stream().map(Object::toString).toList());
      assertEquals(1_000_000_000L, c.getHostConfig().getNanoCPUs());
      assertEquals(1L << 30, c.getHostConfig().getMemory());
      assertEquals(1L << 30, c.getHostConfig().getMemorySwap());
      assertEquals(h.workerId(), c.getConfig().getLabels().get("oz.worker.id"));
      assertEquals("team-1", c.getConfig().getLabels().get("oz.task.id"));
      assertEquals(0L, c.getState().getExitCodeLong());
    }
  }

  @Test
  void minimalUserTask() {
    try (WorkerHarness h = WorkerHarness.start(o -> o.setCleanup(false))) {
      JsonObject task = scriptTask("user-1", "exit 0");
      task.getJsonObject("task").put("owner", new JsonObject().put("Type", "USER").put("Id", 9));
      JsonObject report = h.run(task);
      assertEquals(new JsonObject().put("task_id", "user-1").put("message", "Task completed successfully"), data(report));
      InspectContainerResponse c = Engine.docker().inspectContainerCmd(Engine.containersOf(h.workerId()).get(0).getId()).exec();
      assertEquals(List.of("/agent/entrypoint.sh", "agent", "run", "--task-id", "user-1", "--sandboxed",
          "--server-root-url", "http://127.0.0.1:9", "--idle-on-complete"), Arrays.asList(c.getConfig().getCmd()));
      assertEquals(List.of("TASK_ID=user-1", "GIT_TERMINAL_PROMPT=0", "GH_PROMPT_DISABLED=1",
          "WARP_SERVER_ROOT_URL=http://127.0.0.1:9", "TEST_SCRIPT=exit 0"), Arrays.asList(c.getConfig().getEnv()).subList(0, 5));
      assertTrue(c.getHostConfig().getBinds() == null || c.getHostConfig().getBinds().length == 0);
      assertTrue(c.getHostConfig().getNanoCPUs() == null || c.getHostConfig().getNanoCPUs() == 0);
      assertTrue(c.getHostConfig().getMemory() == null || c.getHostConfig().getMemory() == 0);
    }
  }

  /** The operator's docker.environment values are secrets in the streamed output, like the assignment's env values. */
  @Test
  void dockerEnvironmentValuesAreRedactedInTaskLog() {
    try (WorkerHarness h = WorkerHarness.start(o -> DockerSettings.edit(o, d -> d.setEnvironment(
        List.of(new dev.oz.worker.config.EnvEntry("REGISTRY_TOKEN", "operator-secret-4711")))))) {
      assertEquals("task_completed", h.run(scriptTask("env", "echo token=$REGISTRY_TOKEN")).getString("type"));
      String streamed = h.cp.received("task_log").stream().map(m -> m.getJsonObject("data").getString("data"))
          .reduce("", String::concat);
      assertTrue(streamed.contains("token=[REDACTED]"), streamed);
      assertFalse(streamed.contains("operator-secret-4711"), streamed);
    }
  }

  @Test
  void exitCodesMapToReports() {
    try (WorkerHarness h = WorkerHarness.start(o -> { });
         LogCapture logs = LogCapture.of("dev.oz.worker")) {
      h.assign(scriptTask("ok", "exit 0"));
      h.assign(scriptTask("three", "echo some output; echo the-secret-value-xyz; exit 3")
          .put("env_vars", new JsonObject().put("TEST_SCRIPT", "echo some output; echo $TOKEN; exit 3")
              .put("TOKEN", "the-secret-value-xyz")));
      h.assign(scriptTask("killed", "sleep 300"));
      h.assign(scriptTask("oom", "x=$(head -c 1400000000 /dev/zero | tr '\\0' a); echo ${#x}")
          .put("instance_shape", new JsonObject().put("memory_gb", 1)));

      assertEquals("task_completed", h.awaitTerminal("ok", WorkerHarness.TASK_TIMEOUT).getString("type"));
      assertEquals(new JsonObject().put("task_id", "three")
          .put("message", "Failed to execute task: container exited with non-zero status: 3")
          .put("failure_reason", "container_exit").put("exit_code", 3), data(h.awaitTerminal("three", WorkerHarness.TASK_TIMEOUT)));
      Waits.until(() -> taskContainer(h, "killed") != null, Duration.ofSeconds(30), () -> "no container for 'killed'");
      Engine.docker().killContainerCmd(taskContainer(h, "killed")).withSignal("SIGKILL").exec();
      JsonObject killed = data(h.awaitTerminal("killed", WorkerHarness.TASK_TIMEOUT));
      assertEquals("container_exit", killed.getString("failure_reason"));
      assertEquals(137, killed.getInteger("exit_code"));
      JsonObject oom = data(h.awaitTerminal("oom", WorkerHarness.TASK_TIMEOUT));
      assertEquals("container_oom", oom.getString("failure_reason"), oom.encode());
      assertEquals(137, oom.getInteger("exit_code"));

      Waits.until(() -> logs.contains("some output"), Duration.ofSeconds(5), logs::all);
      assertTrue(logs.contains("Container output of task three"), logs.all());
      assertFalse(logs.all().contains("the-secret-value-xyz"), "task env values never reach the worker log");
      assertTrue(logs.contains("[REDACTED]"), logs.all());
      Waits.until(() -> Engine.containersOf(h.workerId()).isEmpty(), Duration.ofSeconds(10), () -> "containers left");
    }
  }

  /**
   * What a task writes right before it exits is in the task_log before its report, every byte: the engine's follow
   * stream ends around the exit and often leaves out the last of it (a final partial line, sometimes a whole block),
   * so the report waits for the read that delivers the rest. Several tasks, as the engine's loss is a race.
   */
  @Test
  void everyByteWrittenRightBeforeTheExitIsStreamedBeforeTheReport() {
    String payload = "a".repeat(300_000) + "end-without-newline";
    String script = "sleep 1; head -c 300000 /dev/zero | tr '\\0' a; printf end-without-newline";
    List<String> ids = List.of("last-0", "last-1", "last-2", "last-3", "last-4", "last-5");
    try (WorkerHarness h = WorkerHarness.start(o -> { })) {
      ids.forEach(id -> h.assign(scriptTask(id, script)));
      for (String id : ids) {
        assertEquals("task_completed", h.awaitTerminal(id, WorkerHarness.TASK_TIMEOUT).getString("type"));
        StringBuilder beforeReport = new StringBuilder();
        for (JsonObject m : h.cp.received()) {
          JsonObject d = data(m);
          if (!id.equals(d.getString("task_id"))) {
            continue;
          }
          if (m.getString("type").startsWith("task_completed") || m.getString("type").startsWith("task_failed")) {
            break;
          }
          if (!"task_log".equals(m.getString("type"))) {
            continue;
          }
          assertEquals("stdout", d.getString("stream"));
          beforeReport.append(d.getString("data"));
        }
        String[] headerAndRest = beforeReport.toString().split("\n", 3);
        assertTrue(headerAndRest[0].startsWith("args: ") && headerAndRest[1].startsWith("cwd: "), headerAndRest[0]);
        String rest = headerAndRest.length > 2 ? headerAndRest[2] : "";
        assertEquals(payload.length(), rest.length(), id + ": bytes of the payload streamed before the report");
        assertEquals(payload, rest, id);
      }
    }
  }

  @Test
  void missingImageWithPolicyNeverFailsImagePull() {
    try (WorkerHarness h = WorkerHarness.start(o -> { })) {
      JsonObject report = data(h.run(Assignments.data("nope").put("docker_image", "oz-test/does-not-exist:1")));
      assertEquals("image_pull", report.getString("failure_reason"));
      assertTrue(report.getString("message").contains("oz-test/does-not-exist:1 not found locally and pull policy is never"),
          report.encode());
      assertTrue(Engine.containersOf(h.workerId()).isEmpty());
    }
  }

  @Test
  void pullFallsBackToLocalImageWhenTheRegistryIsUnreachable() {
    try (WorkerHarness h = WorkerHarness.start(o -> DockerSettings.edit(o, d -> d.setPullPolicy(
        dev.oz.worker.docker.DockerOptions.DEFAULT_PULL_POLICY)));
         LogCapture logs = LogCapture.of("dev.oz.worker")) {
      assertEquals("task_completed", h.run(scriptTask("fallback", "exit 0")).getString("type"));
      assertTrue(logs.contains("using the local image"), logs.all());
    }
  }

  @Test
  void engineRefusingTheContainerFailsContainerCreate() {
    try (WorkerHarness h = WorkerHarness.start(o -> { })) {
      JsonObject report = data(h.run(scriptTask("huge", "true").put("instance_shape", new JsonObject().put("vcpus", 512))));
      assertEquals("container_create", report.getString("failure_reason"), report.encode());
      assertTrue(report.getString("message").startsWith("Failed to execute task: failed to create container: "), report.encode());
      assertTrue(Engine.containersOf(h.workerId()).isEmpty());
    }
  }

  @Test
  void imageWithoutTheAgentEntrypointFailsContainerStart() {
    try (WorkerHarness h = WorkerHarness.start(o -> { })) {
      JsonObject report = data(h.run(Assignments.data("no-agent").put("docker_image", Engine.BUSYBOX)));
      assertEquals("container_start", report.getString("failure_reason"), report.encode());
      assertTrue(report.getString("message").contains("/agent/entrypoint.sh"), report.encode());
      Waits.until(() -> Engine.containersOf(h.workerId()).isEmpty(), Duration.ofSeconds(10), () -> "container left");
    }
  }

  @Test
  void imageForAnotherPlatformFailsImagePullNamingBoth() {
    try (WorkerHarness h = WorkerHarness.start(o -> { })) {
      JsonObject report = data(h.run(Assignments.data("arm").put("docker_image", Engine.BUSYBOX_ARM64)));
      assertEquals("image_pull", report.getString("failure_reason"));
      assertTrue(report.getString("message").contains("is for platform linux/arm64, but this worker requires linux/amd64"),
          report.encode());
    }
  }

  @Test
  void cancellationStopsTheContainerWithinTheGracePeriod() {
    try (WorkerHarness h = WorkerHarness.start(o -> DockerSettings.edit(o, d -> d.setCancelGracePeriod(Duration.ofSeconds(10))))) {
      h.assign(scriptTask("long", "trap 'exit 143' TERM; sleep 300 & wait"));
      Waits.until(() -> running(h) == 1, Duration.ofSeconds(30), () -> "container not running");
      long start = System.nanoTime();
      h.cp.send(Assignments.cancellation("long"));
      JsonObject report = h.awaitTerminal("long", Duration.ofSeconds(30));
      long tookMs = (System.nanoTime() - start) / 1_000_000;
      assertEquals(new JsonObject().put("task_id", "long").put("message", "Task cancelled by user request.")
          .put("task_state", "CANCELLED"), data(report));
      assertTrue(tookMs < 5_000, "SIGTERM ended it well within the 10s grace period, took " + tookMs + " ms");
      Waits.until(() -> Engine.containersOf(h.workerId()).isEmpty(), Duration.ofSeconds(10), () -> "container left");
    }
  }

  @Test
  void containerIgnoringSigtermIsKilledAfterTheGracePeriod() {
    try (WorkerHarness h = WorkerHarness.start(o -> DockerSettings.edit(o, d -> d.setCancelGracePeriod(Duration.ofSeconds(1))))) {
      h.assign(scriptTask("stubborn", "trap '' TERM; while true; do sleep 1; done"));
      Waits.until(() -> running(h) == 1, Duration.ofSeconds(30), () -> "container not running");
      long start = System.nanoTime();
      h.cp.send(Assignments.cancellation("stubborn"));
      JsonObject report = h.awaitTerminal("stubborn", Duration.ofSeconds(30));
      long tookMs = (System.nanoTime() - start) / 1_000_000;
      assertEquals("CANCELLED", data(report).getString("task_state"));
      assertTrue(tookMs >= 900 && tookMs < 8_000, "killed after the 1s grace period, took " + tookMs + " ms");
      Waits.until(() -> Engine.containersOf(h.workerId()).isEmpty(), Duration.ofSeconds(10), () -> "container left");
    }
  }

  @Test
  void shutdownCancelsRunningTasksAndReportsGracefulShutdown() {
    WorkerHarness h = WorkerHarness.start(o -> DockerSettings.edit(o, d -> d.setCancelGracePeriod(Duration.ofSeconds(5))));
    try (h) {
      h.assign(scriptTask("running", "trap 'exit 143' TERM; sleep 300 & wait"));
      Waits.until(() -> running(h) == 1, Duration.ofSeconds(30), () -> "container not running");
      h.undeploy();
      JsonObject report = data(h.awaitTerminal("running", Duration.ofSeconds(5)));
      assertEquals("task_failed", h.cp.received("task_failed").get(0).getString("type"));
      assertEquals("graceful_shutdown", report.getString("failure_reason"));
      assertEquals(143, report.getInteger("exit_code"));
      assertTrue(Engine.containersOf(h.workerId()).isEmpty());
      assertEquals(List.of((short) 1000), h.cp.closeCodes());
    }
  }

  @Test
  void sidecarVolumeIsCreatedOnceAndReused() {
    String volume = SidecarVolumes.volumeName(Engine.SIDECAR, Engine.docker().inspectImageCmd(Engine.SIDECAR).exec().getId());
    Engine.removeVolume(volume + SidecarVolumes.READY_SUFFIX);
    Engine.removeVolume(volume);
    try (WorkerHarness h = WorkerHarness.start(o -> { });
         LogCapture logs = LogCapture.of("dev.oz.worker.docker")) {
      // two tasks at once need the same new volume: one fill, both succeed
      h.assign(scriptTask("s1", "cat /agent/VERSION").put("docker_image", Engine.BUSYBOX).put("sidecar_image", Engine.SIDECAR));
      h.assign(scriptTask("s2", "cat /agent/VERSION").put("docker_image", Engine.BUSYBOX).put("sidecar_image", Engine.SIDECAR));
      assertEquals("task_completed", h.awaitTerminal("s1", WorkerHarness.TASK_TIMEOUT).getString("type"));
      assertEquals("task_completed", h.awaitTerminal("s2", WorkerHarness.TASK_TIMEOUT).getString("type"));
      String created = Engine.docker().inspectVolumeCmd(volume).exec().getMountpoint();
      assertNotNull(created);
      assertEquals(1, logs.messages().stream().filter(m -> m.contains("Creating new Docker volume: " + volume)).count());

      assertEquals("task_completed", h.run(scriptTask("s3", "test -f /agent/VERSION")
          .put("docker_image", Engine.BUSYBOX).put("sidecar_image", Engine.SIDECAR)).getString("type"));
      assertEquals(1, logs.messages().stream().filter(m -> m.contains("Creating new Docker volume: " + volume)).count(),
          "the third task reused the volume");
      // removal follows the report
      Waits.until(() -> Engine.containersOf(h.workerId()).isEmpty(), Duration.ofSeconds(10), () -> "copy helpers or task containers left");
    }
  }

  @Test
  void incompleteSidecarVolumeIsRefilled() {
    String volume = SidecarVolumes.volumeName(Engine.SIDECAR, Engine.docker().inspectImageCmd(Engine.SIDECAR).exec().getId());
    Engine.removeVolume(volume + SidecarVolumes.READY_SUFFIX);
    Engine.removeVolume(volume);
    Engine.docker().createVolumeCmd().withName(volume).exec(); // as if a copy was cut off
    try (WorkerHarness h = WorkerHarness.start(o -> { });
         LogCapture logs = LogCapture.of("dev.oz.worker.docker")) {
      assertEquals("task_completed", h.run(scriptTask("r1", "cat /agent/VERSION")
          .put("docker_image", Engine.BUSYBOX).put("sidecar_image", Engine.SIDECAR)).getString("type"));
      assertTrue(logs.contains("is incomplete"), logs.all());
    }
  }

  @Test
  void invalidSidecarsFailBeforeAnythingIsCreated() {
    try (WorkerHarness h = WorkerHarness.start(o -> o.setCleanup(false))) {
      JsonObject report = data(h.run(scriptTask("bad-sidecar", "true").put("additional_sidecars", new JsonArray()
          .add(new JsonObject().put("image", Engine.SIDECAR).put("mount_path", "/tools"))
          .add(new JsonObject().put("image", Engine.SIDECAR).put("mount_path", "/tools")))));
      assertEquals("sidecar_prep", report.getString("failure_reason"));
      assertEquals("Failed to execute task: duplicate mount path /tools for sidecar " + Engine.SIDECAR, report.getString("message"));
      JsonObject relative = data(h.run(scriptTask("rel", "true").put("additional_sidecars", new JsonArray()
          .add(new JsonObject().put("image", Engine.SIDECAR).put("mount_path", "tools")))));
      assertEquals("sidecar_prep", relative.getString("failure_reason"));
      assertTrue(Engine.containersOf(h.workerId()).isEmpty(), "nothing was created");
    }
  }

  @Test
  void leftoverContainersOfThisWorkerAreReportedAndRemovedAtStart() {
    String workerId = "it-leftover-" + System.nanoTime();
    String id = Engine.docker().createContainerCmd(Engine.BUSYBOX).withCmd("sleep", "100")
        .withLabels(Map.of("oz.worker.id", workerId, "oz.task.id", "crashed-task", "oz.execution.id", "ex-1")).exec().getId();
    String helper = Engine.docker().createContainerCmd(Engine.BUSYBOX).withCmd("true")
        .withLabels(Map.of("oz.worker.id", workerId, "oz.role", "sidecar-copy")).exec().getId();
    String other = Engine.docker().createContainerCmd(Engine.BUSYBOX).withCmd("true")
        .withLabels(Map.of("oz.worker.id", workerId + "-other")).exec().getId();
    try (LogCapture logs = LogCapture.of("dev.oz.worker.docker");
         WorkerHarness h = WorkerHarness.start(o -> o.setWorkerId(workerId))) {
      // without preserve_tasks_on_shutdown the task is not continued, but it is reported before its container goes
      JsonObject report = data(h.awaitTerminal("crashed-task", WorkerHarness.TASK_TIMEOUT));
      assertEquals("ex-1", report.getString("execution_id"));
      assertEquals("graceful_shutdown", report.getString("failure_reason"));
      assertEquals("Failed to execute task: the worker restarted before the task's container started"
          + " (docker.preserve_tasks_on_shutdown is off)", report.getString("message"));
      assertTrue(h.cp.received("task_claimed").isEmpty(), "an orphan is not claimed again");
      Waits.until(() -> Engine.containersOf(workerId).isEmpty(), Duration.ofSeconds(20),
          () -> "left: " + Engine.containersOf(workerId));
      assertFalse(logs.contains("no word of its report"), "removed once reported, as a task of its own: " + logs.all());
      assertTrue(logs.contains("of a sidecar copy left behind by a previous run"), logs.all());
      assertEquals(1, Engine.containersOf(workerId + "-other").size(), "other workers' containers are left alone");
    } finally {
      Engine.removeContainersOf(workerId + "-other");
      Engine.removeContainersOf(workerId);
      assertFalse(Engine.docker().listContainersCmd().withShowAll(true).exec().stream()
          .anyMatch(c -> c.getId().equals(id) || c.getId().equals(other) || c.getId().equals(helper)));
    }
  }

  @Test
  void withPreservationARunningContainerOfAnEarlierProcessIsAdoptedAndItsOutputReplayedWithOffsets() {
    String workerId = "it-adopt-" + System.nanoTime();
    String secret = "adopt-secret-" + System.nanoTime();
    String id = Engine.docker().createContainerCmd(Engine.BUSYBOX)
        .withCmd("sh", "-c", "echo \"one $TOKEN\"; sleep 4; echo two; exit 0")
        .withEnv("TOKEN=" + secret, "PLAIN=visible-value")
        .withLabels(Map.of("oz.worker.id", workerId, "oz.task.id", "adopted", "oz.execution.id", "ex-7",
            "oz.task.title", "Adopted task", "oz.task.secret-env", "TOKEN"))
        .exec().getId();
    Engine.docker().startContainerCmd(id).exec();
    try (WorkerHarness h = WorkerHarness.start(o -> DockerSettings.edit(o.setWorkerId(workerId),
        d -> d.setPreserveTasksOnShutdown(true)).getLogs().setStream(true))) {
      JsonObject claim = h.cp.awaitMessage("task_claimed", "adopted", Duration.ofSeconds(20));
      assertEquals("ex-7", data(claim).getString("execution_id"));
      JsonObject done = h.awaitTerminal("adopted", WorkerHarness.TASK_TIMEOUT);
      assertEquals("task_completed", done.getString("type"), done.encode());
      List<JsonObject> chunks = h.cp.received("task_log").stream().map(DockerBackendIT::data).toList();
      StringBuilder out = new StringBuilder();
      for (JsonObject c : chunks) {
        assertEquals(out.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length, c.getLong("offset"),
            "each chunk says where it starts: " + chunks);
        out.append(c.getString("data"));
      }
      assertEquals("one [REDACTED]\ntwo\n", out.toString(), "replayed from the first byte, redacted as the task was");
      Waits.until(() -> Engine.containersOf(workerId).isEmpty(), Duration.ofSeconds(20), () -> "container left");
    } finally {
      Engine.removeContainersOf(workerId);
    }
  }

  @Test
  void withPreservationAContainerCreatedButNeverStartedByAnEarlierProcessIsStarted() {
    String workerId = "it-adopt-created-" + System.nanoTime();
    Engine.docker().createContainerCmd(Engine.BUSYBOX).withCmd("sh", "-c", "echo ran; exit 4")
        .withLabels(Map.of("oz.worker.id", workerId, "oz.task.id", "unstarted")).exec();
    try (WorkerHarness h = WorkerHarness.start(o -> DockerSettings.edit(o.setWorkerId(workerId),
        d -> d.setPreserveTasksOnShutdown(true)).getLogs().setStream(true))) {
      JsonObject failed = h.awaitTerminal("unstarted", WorkerHarness.TASK_TIMEOUT);
      assertEquals(1, h.cp.received("task_claimed").size(), "claimed again: this worker runs it now");
      assertEquals("container_exit", data(failed).getString("failure_reason"), failed.encode());
      assertEquals(4, data(failed).getInteger("exit_code"));
      assertEquals("ran\n", h.cp.received("task_log").stream().map(m -> data(m).getString("data"))
          .collect(java.util.stream.Collectors.joining()));
    } finally {
      Engine.removeContainersOf(workerId);
    }
  }

  @Test
  void moreConcurrentTasksThanPooledThreadsAllRunAtOnce() throws Exception {
    int tasks = 10;
    Path gate = tmp.resolve("gate");
    // every task waits for the gate, so "all at once" does not depend on how fast a busy engine starts them
    try (WorkerHarness h = WorkerHarness.start(o -> DockerSettings.edit(o, d -> d.setBlockingPoolSize(2)
        .addVolume(tmp + ":/gate")))) {
      for (int i = 0; i < tasks; i++) {
        h.assign(scriptTask("c" + i, "while [ ! -e /gate/gate ]; do sleep 0.2; done"));
      }
      Waits.until(() -> running(h) == tasks, Duration.ofSeconds(60),
          () -> "only " + running(h) + " of " + tasks + " containers ran at once on a pool of 2 threads");
      Files.writeString(gate, "open");
      for (int i = 0; i < tasks; i++) {
        assertEquals("task_completed", h.awaitTerminal("c" + i, WorkerHarness.TASK_TIMEOUT).getString("type"));
      }
      Waits.until(() -> Engine.containersOf(h.workerId()).isEmpty(), Duration.ofSeconds(10), () -> "containers left");
    }
  }

  private static String taskContainer(WorkerHarness h, String taskId) {
    return Engine.containersOf(h.workerId()).stream()
        .filter(c -> "running".equals(c.getState()) && taskId.equals(c.getLabels().get("oz.task.id")))
        .map(Container::getId).findFirst().orElse(null);
  }

  private static long running(WorkerHarness h) {
    return Engine.containersOf(h.workerId()).stream().filter(c -> "running".equals(c.getState())).count();
  }
}
