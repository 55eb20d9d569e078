package dev.oz.worker.direct;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.config.ConfigException;
import dev.oz.worker.testing.Assignments;
import dev.oz.worker.testing.WorkerHarness;
import dev.oz.worker.testing.Waits;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The direct backend end to end: a worker configured as from the command line, a loopback control plane, and a
 * fake {@code oz} written here that records its argument vector, environment and directory, then behaves as its
 * {@code FAKE_*} variables say.
 */
class DirectBackendTest {
  private static final String ROOT_URL = "http://127.0.0.1:9";
  private static final String SECRET = "s3cr3t-task-token";
  /** A stand-in for the oz CLI. */
  private static final String FAKE_OZ = """
      #!/bin/sh
      out="$FAKE_OUT/$TASK_ID"
      for a in "$@"; do printf '%s\\n' "$a"; done > "$out.argv"
      env > "$out.env"
      pwd > "$out.pwd"
      echo "fake oz: token $SECRET_TOKEN"
      i=1
      while [ "$i" -le "${FAKE_LINES:-0}" ]; do
        echo "out line $i"
        echo "err line $i" >&2
        i=$((i + 1))
      done
      if [ -n "$FAKE_GRANDCHILD" ]; then
        # a child that forks a grandchild which ignores SIGTERM
        sh -c 'trap "" TERM; sleep 300 & echo $! > "$0.grandchild"; wait' "$out" &
        while [ ! -s "$out.grandchild" ]; do sleep 0.05; done
      fi
      if [ -n "$FAKE_SLEEP" ]; then touch "$out.sleeping"; sleep "$FAKE_SLEEP"; fi
      if [ -n "$FAKE_SIGNAL" ]; then kill -"$FAKE_SIGNAL" $$; fi
      exit "${FAKE_EXIT:-0}"
      """;

  @TempDir
  Path dir;
  private Path bin;
  private Path ws;
  private Path out;
  private Map<String, String> hostEnv;
  private WorkerHarness worker;

  @BeforeEach
  void setUp() throws IOException {
    bin = Files.createDirectories(dir.resolve("bin"));
    ws = dir.resolve("workspaces");
    out = Files.createDirectories(dir.resolve("out"));
    Path oz = Files.writeString(bin.resolve("oz"), FAKE_OZ);
    Files.setPosixFilePermissions(oz, PosixFilePermissions.fromString("rwxr-xr-x"));
    hostEnv = new HashMap<>(Map.of(
        "OZ_API_KEY", "direct-worker-api-key",
        "PATH", bin + ":/usr/bin:/bin",
        "HOME", dir.resolve("home").toString(),
        "TMPDIR", dir.resolve("tmp").toString(),
        "HOST_ONLY", "host-value"));
    worker = WorkerHarness.fromCommandLine();
  }

  @AfterEach
  void tearDown() throws Exception {
    worker.close();
  }

  private String conf(JsonObject direct) {
    return new JsonObject().put("metrics", new JsonObject().put("enabled", false))
        .put("direct", direct.put("workspace_root", ws.toString())).encode();
  }

  private void start(JsonObject direct, String... flags) throws Exception {
    List<String> all = new java.util.ArrayList<>(List.of("--backend", "direct", "--worker-id", "direct-test",
        "--server-root-url", ROOT_URL, "-e", "FAKE_OUT=" + out));
    all.addAll(List.of(flags));
    worker.start(conf(direct), null, hostEnv, all.toArray(String[]::new));
  }

  private static JsonObject task(String id, Map<String, String> env) {
    JsonObject vars = new JsonObject();
    env.forEach(vars::put);
    return Assignments.data(id).put("env_vars", vars);
  }

  private List<String> argv(String taskId) throws IOException {
    return Files.readAllLines(out.resolve(taskId + ".argv"));
  }

  /** The fake's environment, less what /bin/sh adds itself. */
  private Map<String, String> env(String taskId) throws IOException {
    return envFile(out.resolve(taskId + ".env"));
  }

  static Map<String, String> envFile(Path p) throws IOException {
    Map<String, String> env = new TreeMap<>();
    for (String line : Files.readAllLines(p)) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        env.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    env.remove("PWD");
    return env;
  }

  @Test
  void theAgentRunsWithTheContainerArgumentVectorAndTheGoEnvironment() throws Exception {
    start(new JsonObject().put("environment", new JsonArray()
            .add(new JsonObject().put("name", "OP_VAR").put("value", "from-config"))
            .add(new JsonObject().put("name", "OVERRIDDEN").put("value", "config"))
            .add(new JsonObject().put("name", "HOST_ONLY"))),
        "-e", "OVERRIDDEN=flag");
    JsonObject a = task("t-env", Map.of("SECRET_TOKEN", SECRET, "FAKE_LINES", "2"));
    a.getJsonObject("task").put("owner", new JsonObject().put("Type", "TEAM").put("Id", 7))
        .put("agent_config_snapshot", new JsonObject().put("harness", new JsonObject().put("type", "claude")));
    worker.assign(a);
    assertEquals(new JsonObject().put("task_id", "t-env").put("message", "Task completed successfully"),
        worker.awaitReport("t-env"));

    assertEquals(List.of("agent", "run", "--share", "team:edit", "--task-id", "t-env", "--sandboxed",
        "--server-root-url", ROOT_URL, "--no-computer-use", "--harness", "claude", "--idle-on-complete"), argv("t-env"));
    Path workspace = ws.resolve("t-env");
    assertEquals(workspace.toString(), Files.readString(out.resolve("t-env.pwd")).strip());
    Map<String, String> expected = new TreeMap<>(Map.ofEntries(
        Map.entry("HOME", hostEnv.get("HOME")),
        Map.entry("TMPDIR", hostEnv.get("TMPDIR")),
        Map.entry("PATH", hostEnv.get("PATH")),
        Map.entry("TASK_ID", "t-env"),
        Map.entry("GIT_TERMINAL_PROMPT", "0"),
        Map.entry("GH_PROMPT_DISABLED", "1"),
        Map.entry("WARP_SERVER_ROOT_URL", ROOT_URL),
        Map.entry("SECRET_TOKEN", SECRET),
        Map.entry("FAKE_LINES", "2"),
        Map.entry("OP_VAR", "from-config"),
        Map.entry("HOST_ONLY", "host-value"),
        Map.entry("OVERRIDDEN", "flag"),
        Map.entry("FAKE_OUT", out.toString()),
        Map.entry("CLAUDE_CONFIG_DIR", workspace.resolve(".claude").toString()),
        Map.entry("GIT_CONFIG_GLOBAL", workspace.resolve(".gitconfig").toString())));
    assertEquals(expected, env("t-env"), "no worker credential, no OZ_* of the hooks");

    assertEquals("fake oz: token [REDACTED]\nout line 1\nout line 2\n", worker.log("t-env", "stdout"));
    assertEquals("err line 1\nerr line 2\n", worker.log("t-env", "stderr"));
    Waits.until(() -> !Files.exists(workspace), Duration.ofSeconds(5), () -> "workspace not removed");
  }

  @Test
  void exitStatusesBecomeAgentInvocationFailuresWithTheCode() throws Exception {
    start(new JsonObject());
    worker.assign(task("t-exit", Map.of("FAKE_EXIT", "3")));
    assertEquals(new JsonObject().put("task_id", "t-exit")
            .put("message", "Failed to execute task: oz agent exited with error: exit status 3")
            .put("failure_reason", "agent_invocation").put("exit_code", 3),
        worker.awaitReport("t-exit"));
    worker.assign(task("t-segv", Map.of("FAKE_SIGNAL", "SEGV")));
    JsonObject segv = worker.awaitReport("t-segv");
    assertEquals("agent_invocation", segv.getString("failure_reason"));
    assertEquals(139, segv.getInteger("exit_code"), "a signal death is 128+n");
  }

  @Test
  void cancelStopsTheWholeProcessGroupAndReportsCancelled() throws Exception {
    start(new JsonObject().put("cancel_grace_period", "1s"));
    worker.assign(task("t-cancel", Map.of("FAKE_SLEEP", "300", "FAKE_GRANDCHILD", "1")));
    Path sleeping = out.resolve("t-cancel.sleeping");
    Waits.until(() -> Files.exists(sleeping), WorkerHarness.WAIT, () -> "the agent never started");
    long grandchild = Long.parseLong(Files.readString(out.resolve("t-cancel.grandchild")).strip());
    worker.cp.send(Assignments.cancellation("t-cancel"));
    JsonObject done = worker.awaitReport("t-cancel");
    assertEquals("CANCELLED", done.getString("task_state"), done.encode());
    assertFalse(alive(grandchild), "the grandchild that ignored SIGTERM was killed after the grace period");
    assertFalse(Files.exists(ws.resolve("t-cancel")), "workspace removed");
  }

  @Test
  void whatTheAgentLeftRunningEndsWithIt() throws Exception {
    start(new JsonObject());
    worker.assign(task("t-left", Map.of("FAKE_GRANDCHILD", "1")));
    assertEquals("Task completed successfully", worker.awaitReport("t-left").getString("message"));
    long grandchild = Long.parseLong(Files.readString(out.resolve("t-left.grandchild")).strip());
    Waits.until(() -> !alive(grandchild), Duration.ofSeconds(5), () -> "grandchild outlived its task");
  }

  @Test
  void workerShutdownStopsRunningTasksAndReportsGracefulShutdown() throws Exception {
    start(new JsonObject().put("cancel_grace_period", "1s"), "--shutdown-grace-period", "0s");
    worker.assign(task("t-shut", Map.of("FAKE_SLEEP", "300", "FAKE_GRANDCHILD", "1")));
    Waits.until(() -> Files.exists(out.resolve("t-shut.sleeping")), WorkerHarness.WAIT, () -> "never started");
    long grandchild = Long.parseLong(Files.readString(out.resolve("t-shut.grandchild")).strip());
    worker.undeploy();
    JsonObject failed = worker.cp.awaitMessage("task_failed", "t-shut", WorkerHarness.WAIT).getJsonObject("data");
    assertEquals("graceful_shutdown", failed.getString("failure_reason"));
    assertEquals(143, failed.getInteger("exit_code"), "the agent's own status after the SIGTERM");
    assertFalse(alive(grandchild), "nothing outlives the worker's tasks");
    assertFalse(Files.exists(ws.resolve("t-shut")));
  }

  @Test
  void setupAndTeardownCommandsGetTheirEnvironmentAndTheEnvironmentFileReachesTheAgent() throws Exception {
    String setup = "env > \"$FAKE_OUT/setup.env\"; pwd > \"$FAKE_OUT/setup.pwd\"; "
        + "printf 'FROM_SETUP=\"hello world\"\\nexport SECOND=${FROM_SETUP}!\\nGIT_CONFIG_GLOBAL=/tmp/evil\\n' "
        + "> \"$OZ_ENVIRONMENT_FILE\"; echo setup says hi";
    // teardown gets the worker's environment and its own variables only (as in the Go worker): no FAKE_OUT
    String teardown = "env > " + out.resolve("teardown.env") + "; test -d \"$OZ_WORKSPACE_ROOT\" && echo teardown ran";
    start(new JsonObject().put("setup_command", setup).put("teardown_command", teardown)
        .put("environment", new JsonArray().add(new JsonObject().put("name", "OP_VAR").put("value", "op"))));
    worker.assign(task("t-hooks", Map.of("SECRET_TOKEN", SECRET)));
    assertEquals("Task completed successfully", worker.awaitReport("t-hooks").getString("message"));
    Path workspace = ws.resolve("t-hooks");

    Map<String, String> setupEnv = envFile(out.resolve("setup.env"));
    assertEquals(workspace.toString(), Files.readString(out.resolve("setup.pwd")).strip());
    for (String name : List.of("OZ_WORKSPACE_ROOT", "WARP_WORKSPACE_ROOT")) {
      assertEquals(workspace.toString(), setupEnv.get(name), name);
    }
    for (String name : List.of("OZ_RUN_ID", "WARP_RUN_ID")) {
      assertEquals("t-hooks", setupEnv.get(name), name);
    }
    assertEquals("direct", setupEnv.get("OZ_WORKER_BACKEND"));
    assertEquals("direct", setupEnv.get("WARP_WORKER_BACKEND"));
    assertTrue(setupEnv.get("OZ_ENVIRONMENT_FILE").startsWith(workspace + "/oz-env-"));
    assertEquals(setupEnv.get("OZ_ENVIRONMENT_FILE"), setupEnv.get("WARP_ENVIRONMENT_FILE"));
    assertEquals("host-value", setupEnv.get("HOST_ONLY"), "hooks inherit the worker's environment");
    assertEquals(SECRET, setupEnv.get("SECRET_TOKEN"), "and the task's");
    assertEquals("op", setupEnv.get("OP_VAR"));
    assertEquals(workspace.resolve(".gitconfig").toString(), setupEnv.get("GIT_CONFIG_GLOBAL"));

    Map<String, String> agentEnv = env("t-hooks");
    assertEquals("hello world", agentEnv.get("FROM_SETUP"));
    assertEquals("hello world!", agentEnv.get("SECOND"));
    assertEquals(workspace.resolve(".gitconfig").toString(), agentEnv.get("GIT_CONFIG_GLOBAL"),
        "the environment file cannot move the task's git config");
    assertFalse(agentEnv.containsKey("OZ_ENVIRONMENT_FILE"), "the agent gets no OZ_* of the hooks");

    Map<String, String> teardownEnv = envFile(out.resolve("teardown.env"));
    assertEquals("t-hooks", teardownEnv.get("OZ_RUN_ID"));
    assertEquals("t-hooks", teardownEnv.get("WARP_RUN_ID"));
    assertEquals(workspace.toString(), teardownEnv.get("OZ_WORKSPACE_ROOT"));
    assertEquals(workspace.resolve(".gitconfig").toString(), teardownEnv.get("GIT_CONFIG_GLOBAL"));
    assertFalse(teardownEnv.containsKey("OZ_ENVIRONMENT_FILE"));
    assertFalse(teardownEnv.containsKey("SECRET_TOKEN"), "as in the Go worker, teardown gets no task environment");
    assertEquals("setup says hi\nfake oz: token [REDACTED]\nteardown ran\n", worker.log("t-hooks", "stdout"));
    assertFalse(Files.exists(workspace));
  }

  @Test
  void operatorAndEnvironmentFileValuesAreRedactedInTheStreamedOutput() throws Exception {
    String setup = "echo \"setup sees $SECRET_TOKEN\"; if [ \"$OZ_RUN_ID\" = t-file ]; then "
        + "echo SECRET_TOKEN=file-secret-789 > \"$OZ_ENVIRONMENT_FILE\"; fi";
    start(new JsonObject().put("setup_command", setup)
        .put("environment", new JsonArray().add(new JsonObject().put("name", "SECRET_TOKEN").put("value", "op-secret-456"))));
    worker.assign(task("t-op", Map.of()));
    worker.awaitReport("t-op");
    assertEquals("op-secret-456", env("t-op").get("SECRET_TOKEN"));
    assertEquals("setup sees [REDACTED]\nfake oz: token [REDACTED]\n", worker.log("t-op", "stdout"));
    worker.assign(task("t-file", Map.of()));
    worker.awaitReport("t-file");
    assertEquals("file-secret-789", env("t-file").get("SECRET_TOKEN"), "the environment file's value reached the agent");
    assertEquals("setup sees [REDACTED]\nfake oz: token [REDACTED]\n", worker.log("t-file", "stdout"));
    assertFalse(worker.cp.received().toString().contains("secret-"), "no value reached the control plane");
  }

  @Test
  void aFailingSetupCommandFailsTheTaskBeforeTheAgentAndTeardownStillRuns() throws Exception {
    start(new JsonObject().put("setup_command", "echo cannot provision >&2; exit 4")
        .put("teardown_command", "touch " + out.resolve("teardown-ran")));
    worker.assign(task("t-setup", Map.of()));
    assertEquals(new JsonObject().put("task_id", "t-setup")
            .put("message", "Failed to execute task: setup command failed: exit status 4")
            .put("failure_reason", "setup_command"),
        worker.awaitReport("t-setup"));
    assertFalse(Files.exists(out.resolve("t-setup.argv")), "the agent never ran");
    assertTrue(Files.exists(out.resolve("teardown-ran")));
    assertEquals("cannot provision\n", worker.log("t-setup", "stderr"));
    assertFalse(Files.exists(ws.resolve("t-setup")));
  }

  @Test
  void aSetupTimeoutFailsTheTask() throws Exception {
    start(new JsonObject().put("setup_command", "sleep 300").put("setup_timeout", "300ms")
        .put("cancel_grace_period", "200ms"));
    worker.assign(task("t-slow", Map.of()));
    JsonObject failed = worker.awaitReport("t-slow");
    assertEquals("setup_command", failed.getString("failure_reason"));
    assertEquals("Failed to execute task: setup command timed out after 300ms", failed.getString("message"));
  }

  @Test
  void aFailingTeardownIsOnlyLogged() throws Exception {
    start(new JsonObject().put("teardown_command", "exit 9"));
    worker.assign(task("t-td", Map.of()));
    assertEquals("Task completed successfully", worker.awaitReport("t-td").getString("message"));
  }

  @Test
  void targetDirRunsEveryTaskInThatDirectoryAndKeepsIt() throws Exception {
    Path target = Files.createDirectories(dir.resolve("checkout"));
    Files.writeString(target.resolve("README"), "mine");
    start(new JsonObject(), "--target-dir", target.toString());
    worker.assign(task("t-target", Map.of()));
    assertEquals("Task completed successfully", worker.awaitReport("t-target").getString("message"));
    assertEquals(target.toString(), Files.readString(out.resolve("t-target.pwd")).strip());
    String gitConfig = env("t-target").get("GIT_CONFIG_GLOBAL");
    assertFalse(gitConfig.startsWith(target.toString()), "the throwaway git config stays out of the checkout");
    assertFalse(Files.exists(Path.of(gitConfig).getParent()), "and is removed");
    try (var files = Files.list(target)) {
      assertEquals(List.of(target.resolve("README")), files.toList(), "the checkout is kept, the env file removed");
    }
    assertFalse(Files.exists(ws.resolve("t-target")));
  }

  @Test
  void noCleanupKeepsTheWorkspaceAndReadOnlyDirectoriesDoNotStopCleanup() throws Exception {
    start(new JsonObject().put("setup_command", "mkdir -p cache/mod && touch cache/mod/f && chmod -w cache/mod cache"));
    worker.assign(task("t-ro", Map.of()));
    assertEquals("Task completed successfully", worker.awaitReport("t-ro").getString("message"));
    Waits.until(() -> !Files.exists(ws.resolve("t-ro")), Duration.ofSeconds(5), () -> "read-only tree not removed");
  }

  @Test
  void noCleanupFlagKeepsTheWorkspace() throws Exception {
    start(new JsonObject(), "--no-cleanup");
    worker.assign(task("t-keep", Map.of()));
    assertEquals("Task completed successfully", worker.awaitReport("t-keep").getString("message"));
    assertTrue(Files.isDirectory(ws.resolve("t-keep")));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(ws.resolve("t-keep"))));
  }

  @Test
  void anUnsafeTaskIdFailsAsWorkspaceSetup() throws Exception {
    start(new JsonObject());
    worker.assign(task("..", Map.of()));
    assertEquals(new JsonObject().put("task_id", "..")
            .put("message", "Failed to execute task: invalid task ID for workspace path: invalid task ID")
            .put("failure_reason", "workspace_setup"),
        worker.awaitReport(".."));
  }

  @Test
  void aMissingOzIsAClearErrorAtStart() throws Exception {
    hostEnv.put("PATH", "/usr/bin:/bin");
    Throwable e = assertThrows(Throwable.class, () -> start(new JsonObject()));
    assertTrue(String.valueOf(e.getMessage()).contains(
        "oz CLI not found in PATH (install it, or set direct.oz_path / backend.direct.oz_path)"), e.getMessage());
    Path notExecutable = Files.writeString(dir.resolve("oz-plain"), "#!/bin/sh\n");
    Throwable e2 = assertThrows(Throwable.class, () -> start(new JsonObject().put("oz_path", notExecutable.toString())));
    assertTrue(String.valueOf(e2.getMessage()).contains("direct.oz_path " + notExecutable + " is not an executable file"),
        e2.getMessage());
  }

  @Test
  void aGoWorkerYamlFileWithADirectBlockRunsATaskUnchanged() throws Exception {
    Path yaml = Files.writeString(dir.resolve("worker.yaml"), """
        worker_id: "go-direct"
        cleanup: true
        backend:
          direct:
            workspace_root: "%s"
            oz_path: "%s"
            setup_command: "echo from yaml setup"
            environment:
              - name: FROM_YAML
                value: "yes"
              - name: HOST_ONLY
        """.formatted(ws, bin.resolve("oz")));
    hostEnv.put("PATH", "/usr/bin:/bin"); // oz only through oz_path
    worker.start("{\"metrics\": {\"enabled\": false}}", yaml, hostEnv, "--server-root-url", ROOT_URL,
        "-e", "FAKE_OUT=" + out);
    assertEquals("direct", worker.options().getBackend());
    worker.assign(task("t-yaml", Map.of()));
    assertEquals("Task completed successfully", worker.awaitReport("t-yaml").getString("message"));
    Map<String, String> env = env("t-yaml");
    assertEquals("yes", env.get("FROM_YAML"));
    assertEquals("host-value", env.get("HOST_ONLY"));
    assertEquals("from yaml setup\nfake oz: token \n", worker.log("t-yaml", "stdout"));
  }

  @Test
  void theBlocksAreStrictAndNameTheKey() throws Exception {
    assertEquals("unknown setting in direct: workspace",
        assertThrows(ConfigException.class, () -> worker.load("{\"direct\": {\"workspace\": \"/x\"}}", null, hostEnv,
            "--backend", "direct", "--worker-id", "w")).getMessage());
    assertEquals("direct.cancel_grace_period: invalid duration \"soon\" (use a value like \"250ms\", \"10s\" or \"1m30s\")",
        assertThrows(ConfigException.class, () -> worker.load("{\"direct\": {\"cancel_grace_period\": \"soon\"}}", null,
            hostEnv, "--backend", "direct", "--worker-id", "w")).getMessage());
    Path yaml = Files.writeString(dir.resolve("bad.yaml"), "worker_id: w\nbackend:\n  direct:\n    oz_pth: /x\n");
    assertEquals(yaml + ": line 4: unknown key \"oz_pth\" in backend.direct (valid: cancel_grace_period, environment, "
            + "oz_path, setup_command, setup_timeout, target_dir, teardown_command, teardown_timeout, workspace_root)",
        assertThrows(ConfigException.class, () -> worker.load(null, yaml, hostEnv)).getMessage());
    Path badEnv = Files.writeString(dir.resolve("env.yaml"),
        "worker_id: w\nbackend:\n  direct:\n    environment:\n      - name: \"A B\"\n");
    assertEquals(badEnv + ": backend.direct.environment[0].name must not contain whitespace: \"A B\"",
        assertThrows(ConfigException.class, () -> worker.load(null, badEnv, hostEnv)).getMessage());
  }

  @Test
  void readinessFollowsTheOzBinary() throws Exception {
    String conf = new JsonObject().put("metrics", new JsonObject().put("port", 0).put("host", "127.0.0.1"))
        .put("direct", new JsonObject().put("workspace_root", ws.toString())).encode();
    worker.start(conf, null, hostEnv, "--backend", "direct", "--worker-id", "direct-ready");
    assertEquals(200, worker.get("/readyz").statusCode());
    Files.setPosixFilePermissions(bin.resolve("oz"), PosixFilePermissions.fromString("rw-r--r--"));
    var notReady = worker.get("/readyz");
    assertEquals(503, notReady.statusCode());
    assertEquals(new JsonObject().put("status", "not ready")
        .put("reason", "backend direct: oz CLI " + bin.resolve("oz") + " is missing or not executable"),
        new JsonObject(notReady.body()));
  }

  private static boolean alive(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      return !stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
    } catch (IOException e) {
      return false;
    }
  }
}
