package dev.oz.worker.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.config.ConfigException;
import dev.oz.worker.testing.Assignments;
import dev.oz.worker.testing.WorkerHarness;
import dev.oz.worker.testing.LogCapture;
import dev.oz.worker.testing.Waits;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command backend end to end: a worker configured as from the command line, a loopback control plane. */
class CommandBackendTest {
  private static final String ROOT_URL = "https://app.warp.dev";

  @TempDir
  Path dir;
  private Map<String, String> hostEnv;
  private WorkerHarness worker;

  @BeforeEach
  void setUp() {
    hostEnv = new HashMap<>(Map.of(
        "OZ_API_KEY", "command-worker-api-key",
        "PATH", "/usr/bin:/bin",
        "HOST_ONLY", "host-value"));
    worker = WorkerHarness.fromCommandLine();
  }

  @AfterEach
  void tearDown() throws Exception {
    worker.close();
  }

  private void start(JsonObject command, String... flags) throws Exception {
    start(command, new JsonObject().put("enabled", false), flags);
  }

  private void start(JsonObject command, JsonObject metrics, String... flags) throws Exception {
    List<String> all = new java.util.ArrayList<>(List.of("--backend", "command", "--worker-id", "cmd-worker",
        "--server-root-url", ROOT_URL));
    all.addAll(List.of(flags));
    String conf = new JsonObject().put("metrics", metrics).put("command", command).encode();
    worker.start(conf, null, hostEnv, all.toArray(String[]::new));
  }

  /** A command block whose dispatch command is a shell command line, run with {@code /bin/sh -c}. */
  private static JsonObject sh(String dispatchCommand) {
    return new JsonObject().put("dispatch_command", dispatchCommand).put("shell", "/bin/sh");
  }

  private Path file(String name) {
    return dir.resolve(name);
  }

  private void awaitFile(Path p) {
    Waits.until(() -> Files.exists(p) && size(p) > 0, WorkerHarness.WAIT, () -> p + " never written");
  }

  private static long size(Path p) {
    try {
      return Files.size(p);
    } catch (IOException e) {
      return 0;
    }
  }

  private static Map<String, String> envFile(Path p) throws IOException {
    Map<String, String> env = new TreeMap<>();
    for (String line : Files.readAllLines(p)) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        env.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    return env;
  }

  /** No terminal report, ever: whoever runs a dispatched task reports it. Shuts the worker down to be sure. */
  private void assertNoTerminalReport(String taskId) {
    worker.undeploy(); // everything the worker would say has been said now
    assertTrue(worker.cp.received().stream().noneMatch(m -> List.of("task_completed", "task_failed")
        .contains(m.getString("type")) && taskId.equals(m.getJsonObject("data").getString("task_id"))),
        () -> "unexpected report: " + worker.cp.received());
  }

  @Test
  void richAndMinimalAssignmentsReachTheDispatchCommandAsTheGoPayload() throws Exception {
    start(sh("cat > " + dir + "/$OZ_RUN_ID.json"));
    worker.assign(DispatchPayloadTest.fixture("rich-assignment.json"));
    worker.assign(Assignments.data("run-min"));
    awaitFile(file("run-rich.json"));
    awaitFile(file("run-min.json"));
    assertEquals(DispatchPayloadTest.fixture("rich-payload.json"), new JsonObject(Files.readString(file("run-rich.json"))));
    assertEquals(DispatchPayloadTest.fixture("minimal-payload.json"), new JsonObject(Files.readString(file("run-min.json"))));
    worker.cp.awaitMessage("task_claimed", "run-rich", WorkerHarness.WAIT);
    assertNoTerminalReport("run-rich");
  }

  @Test
  void theCommandGetsTheWorkerOwnedVariablesAndNeverTheTaskSecrets() throws Exception {
    start(sh("env > " + file("env"))
        .put("environment", new JsonArray()
            .add(new JsonObject().put("name", "OPERATOR_VAR").put("value", "ok"))
            .add(new JsonObject().put("name", "OZ_RUN_ID").put("value", "operator-injected"))
            .add(new JsonObject().put("name", "WARP_EXECUTION_ID").put("value", "operator-injected"))),
        "-e", "FLAG_VAR=from-flag");
    worker.assign(Assignments.data("run-env").put("execution_id", "exec-env").put("docker_image", "node:22")
        .put("env_vars", new JsonObject().put("SUPER_SECRET_TOKEN", "hunter2-hunter2")));
    awaitFile(file("env"));
    Map<String, String> env = envFile(file("env"));
    for (String prefix : List.of("OZ_", "WARP_")) {
      assertEquals("run-env", env.get(prefix + "RUN_ID"), prefix);
      assertEquals("exec-env", env.get(prefix + "EXECUTION_ID"), prefix);
      assertEquals("command", env.get(prefix + "WORKER_BACKEND"), prefix);
      assertEquals(ROOT_URL, env.get(prefix + "SERVER_ROOT_URL"), prefix);
      assertEquals("node:22", env.get(prefix + "DOCKER_IMAGE"), prefix);
    }
    assertEquals("ok", env.get("OPERATOR_VAR"));
    assertEquals("from-flag", env.get("FLAG_VAR"));
    assertEquals("host-value", env.get("HOST_ONLY"), "the worker's environment, as in the Go worker");
    assertFalse(env.containsKey("SUPER_SECRET_TOKEN"), "task secrets travel only in the payload");
    assertFalse(env.containsValue("hunter2-hunter2"));
  }

  @Test
  void aSuccessfulDispatchFreesTheSlotAndCountsAsDispatched() throws Exception {
    // "true" does not read its stdin (the Go worker's own test command)
    start(new JsonObject().put("dispatch_command", "true"),
        new JsonObject().put("port", 0).put("host", "127.0.0.1"), "--max-concurrent-tasks", "1");
    worker.assign(Assignments.data("run-a"));
    worker.cp.awaitMessage("task_claimed", "run-a", WorkerHarness.WAIT);
    Waits.until(() -> metric("oz_worker_tasks_completed_total{result=\"dispatched\"}") == 1.0, WorkerHarness.WAIT,
        () -> "not counted as dispatched");
    worker.assign(Assignments.data("run-b"));
    worker.cp.awaitMessage("task_claimed", "run-b", WorkerHarness.WAIT);
    Waits.until(() -> metric("oz_worker_tasks_completed_total{result=\"dispatched\"}") == 2.0, WorkerHarness.WAIT,
        () -> "second dispatch not counted");
    assertTrue(worker.cp.received("task_rejected").isEmpty(), "the slot was free again");
    assertEquals(0.0, metric("oz_worker_tasks_active"));
    assertNoTerminalReport("run-a");
  }

  private double metric(String series) {
    try {
      String scrape = worker.get("/metrics").body();
      Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " ([0-9.eE+-]+)$").matcher(scrape);
      return m.find() ? Double.parseDouble(m.group(1)) : -1;
    } catch (Exception e) {
      return -1;
    }
  }

  @Test
  void aFailedDispatchFailsTheTaskWithItsOutputInTheWorkerLogRedacted() throws Exception {
    start(sh("echo \"runtime refused, token $RUNTIME_TOKEN\" >&2; exit 7")
        .put("environment", new JsonArray().add(new JsonObject().put("name", "RUNTIME_TOKEN").put("value", "rt-secret-42"))));
    try (LogCapture logs = LogCapture.of("dev.oz.worker.command")) {
      worker.assign(Assignments.data("run-fail"));
      assertEquals(new JsonObject().put("task_id", "run-fail")
              .put("message", "Failed to execute task: dispatch command failed: exit status 7")
              .put("failure_reason", "dispatch_command"),
          worker.awaitReport("run-fail"));
      Waits.until(() -> logs.contains("runtime refused"), WorkerHarness.WAIT, logs::all);
      assertTrue(logs.contains("Dispatch command of task run-fail (stderr):\nruntime refused, token [REDACTED]"), logs.all());
      assertFalse(logs.all().contains("rt-secret-42"));
      assertEquals("runtime refused, token [REDACTED]\n", worker.log("run-fail", "stderr"), "and in task_log");
    }
  }

  @Test
  void aDispatchOverItsTimeoutFailsAsDispatchTimeout() throws Exception {
    start(new JsonObject().put("dispatch_command", "sleep 300").put("dispatch_timeout", "300ms"));
    worker.assign(Assignments.data("run-slow"));
    assertEquals(new JsonObject().put("task_id", "run-slow")
            .put("message", "Failed to execute task: dispatch command timed out after 300ms: signal: killed")
            .put("failure_reason", "dispatch_timeout"),
        worker.awaitReport("run-slow"));
  }

  @Test
  void aFireAndForgetChildKeepingStdoutOpenDoesNotHoldTheDispatch() throws Exception {
    start(sh("sleep 30 & echo $! > " + file("child.pid") + "; echo handed off"));
    worker.assign(Assignments.data("run-bg"));
    worker.cp.awaitMessage("task_claimed", "run-bg", WorkerHarness.WAIT);
    awaitFile(file("child.pid"));
    long child = Long.parseLong(Files.readString(file("child.pid")).strip());
    try {
      Waits.until(() -> worker.log("run-bg", "stdout").equals("handed off\n"), Duration.ofSeconds(10),
          () -> "dispatch output: " + worker.log("run-bg", "stdout"));
      assertNoTerminalReport("run-bg");
      assertTrue(ProcessHandle.of(child).map(ProcessHandle::isAlive).orElse(false), "the runtime it started keeps running");
    } finally {
      ProcessHandle.of(child).ifPresent(ProcessHandle::destroyForcibly);
    }
  }

  @Test
  void cancellingADispatchedTaskRunsTheCancelCommand() throws Exception {
    start(sh("cat > /dev/null")
        .put("cancel_command", "env > " + file("cancel.env")));
    try (LogCapture logs = LogCapture.of("dev.oz.worker.task")) {
      worker.assign(Assignments.data("run-c").put("execution_id", "exec-c"));
      Waits.until(() -> logs.messages().contains("INFO Task run-c dispatched"), WorkerHarness.WAIT, logs::all);
    }
    worker.cp.send(Assignments.cancellation("run-c"));
    awaitFile(file("cancel.env"));
    Map<String, String> env = envFile(file("cancel.env"));
    assertEquals("run-c", env.get("OZ_RUN_ID"));
    assertEquals("exec-c", env.get("OZ_EXECUTION_ID"));
    assertEquals("command", env.get("OZ_WORKER_BACKEND"));
    assertEquals("run-c", env.get("WARP_RUN_ID"));
    assertFalse(env.containsKey("OZ_DOCKER_IMAGE"), "the cancel command gets the first three only");
    assertNoTerminalReport("run-c");
  }

  @Test
  void cancellingADispatchInFlightStopsItAndReportsCancelled() throws Exception {
    start(sh("touch " + file("started") + "; sleep 300")
        .put("cancel_command", "touch " + file("cancelled")));
    worker.assign(Assignments.data("run-inflight"));
    Waits.until(() -> Files.exists(file("started")), WorkerHarness.WAIT, () -> "dispatch never started");
    worker.cp.send(Assignments.cancellation("run-inflight"));
    JsonObject done = worker.awaitReport("run-inflight");
    assertEquals("CANCELLED", done.getString("task_state"), done.encode());
    Waits.until(() -> Files.exists(file("cancelled")), WorkerHarness.WAIT, () -> "cancel command not run");
  }

  @Test
  void manyDispatchesRunConcurrently() throws Exception {
    // each dispatch waits (30 s at most) until all 20 have started, then says how many it saw: only side by side
    // can every one of them see 20
    start(sh("touch " + dir + "/$OZ_RUN_ID.started; i=0; while [ $(ls " + dir + " | grep -c '\\.started$') -lt 20 ]"
        + " && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; ls " + dir + " | grep -c '\\.started$' > "
        + dir + "/$OZ_RUN_ID.seen; cat > " + dir + "/$OZ_RUN_ID.json"));
    for (int i = 0; i < 20; i++) {
      worker.assign(Assignments.data("run-" + i));
    }
    for (int i = 0; i < 20; i++) {
      awaitFile(file("run-" + i + ".json"));
      assertEquals("run-" + i, new JsonObject(Files.readString(file("run-" + i + ".json"))).getString("run_id"));
      assertEquals("20", Files.readString(file("run-" + i + ".seen")).strip(), "run-" + i + " ran beside all the others");
    }
  }

  @Test
  void aWorkerShutdownLeavesDispatchedTasksAlone() throws Exception {
    start(sh("cat > /dev/null").put("cancel_command", "touch " + file("cancelled")),
        "--shutdown-grace-period", "0s");
    try (LogCapture logs = LogCapture.of("dev.oz.worker.task")) {
      worker.assign(Assignments.data("run-keep"));
      Waits.until(() -> logs.messages().contains("INFO Task run-keep dispatched"), WorkerHarness.WAIT, logs::all);
    }
    worker.undeploy();
    assertFalse(Files.exists(file("cancelled")), "the command backend preserves tasks on shutdown");
    assertTrue(worker.cp.received("task_failed").isEmpty());
  }

  @Test
  void aGoWorkerYamlFileWithACommandBlockRunsATaskUnchanged() throws Exception {
    Path yaml = Files.writeString(file("worker.yaml"), """
        worker_id: "go-command"
        backend:
          command:
            dispatch_command: "cat > %s/$OZ_RUN_ID.json"
            cancel_command: "true"
            dispatch_timeout: "30s"
            environment:
              - name: MY_RUNTIME_TOKEN
        """.formatted(dir));
    worker.start("{\"metrics\": {\"enabled\": false}}", yaml, hostEnv, "--server-root-url", ROOT_URL);
    assertEquals("command", worker.options().getBackend());
    worker.assign(Assignments.data("run-yaml"));
    awaitFile(file("run-yaml.json"));
    assertEquals("go-command", new JsonObject(Files.readString(file("run-yaml.json"))).getString("worker_id"));
    assertNoTerminalReport("run-yaml");
  }

  @Test
  void theBlocksAreStrictAndNameTheKey() throws Exception {
    assertEquals("command.dispatch_command is required: the command that hands a task to your runtime (it reads the "
            + "task as JSON on stdin)",
        assertThrows(ConfigException.class, () -> worker.load(null, null, hostEnv, "--backend", "command",
            "--worker-id", "w")).getMessage());
    assertEquals("unknown setting in command: dispatch",
        assertThrows(ConfigException.class, () -> worker.load("{\"command\": {\"dispatch_command\": \"x\", "
            + "\"dispatch\": 1}}", null, hostEnv, "--backend", "command", "--worker-id", "w")).getMessage());
    Path yaml = Files.writeString(file("bad.yaml"), "worker_id: w\nbackend:\n  command:\n    dispatch_comand: x\n");
    assertEquals(yaml + ": line 4: unknown key \"dispatch_comand\" in backend.command (valid: cancel_command, "
            + "cancel_timeout, dispatch_command, dispatch_timeout, environment, shell)",
        assertThrows(ConfigException.class, () -> worker.load(null, yaml, hostEnv)).getMessage());
    assertEquals("command.dispatch_timeout: invalid duration \"1 minute\" (use a value like \"250ms\", \"10s\" or \"1m30s\")",
        assertThrows(ConfigException.class, () -> worker.load("{\"command\": {\"dispatch_command\": \"x\", "
            + "\"dispatch_timeout\": \"1 minute\"}}", null, hostEnv, "--backend", "command", "--worker-id", "w"))
            .getMessage());
  }

  @Test
  void withoutAShellTheCommandsRunAsAProgramAndItsArgumentsQuotedAsInSh() throws Exception {
    Path record = Files.writeString(file("record"), "#!/bin/sh\nout=\"$1\"; shift\nprintf '[%s]\\n' \"$@\" > \"$out\"\n");
    assertTrue(record.toFile().setExecutable(true));
    start(new JsonObject()
        .put("dispatch_command", "'" + record + "' " + file("dispatch.argv") + " 'two  words' \"it's \\\"quoted\\\"\" '$HOME' a\\ b")
        .put("cancel_command", record + " " + file("cancel.argv") + " cancel"));
    try (LogCapture logs = LogCapture.of("dev.oz.worker.task")) {
      worker.assign(Assignments.data("run-argv"));
      Waits.until(() -> logs.messages().contains("INFO Task run-argv dispatched"), WorkerHarness.WAIT, logs::all);
    }
    assertEquals("[two  words]\n[it's \"quoted\"]\n[$HOME]\n[a b]\n", Files.readString(file("dispatch.argv")));
    worker.cp.send(Assignments.cancellation("run-argv"));
    awaitFile(file("cancel.argv"));
    assertEquals("[cancel]\n", Files.readString(file("cancel.argv")));
  }

  @Test
  void aShellCommandLineWithNoShellConfiguredStopsTheWorkerAtStart() throws Exception {
    assertEquals("command.dispatch_command needs a shell (it has a redirection \">\"), and command.shell is not set: "
            + "set command.shell to \"/bin/sh\" to run it as /bin/sh -c <command>, or write it as a program and its "
            + "arguments",
        assertThrows(ConfigException.class, () -> worker.load("{\"command\": {\"dispatch_command\": \"cat > /tmp/x\"}}",
            null, hostEnv, "--backend", "command", "--worker-id", "w")).getMessage());
    assertEquals("command.cancel_command needs a shell (it has an expansion \"$\"), and command.shell is not set: "
            + "set command.shell to \"/bin/sh\" to run it as /bin/sh -c <command>, or write it as a program and its "
            + "arguments",
        assertThrows(ConfigException.class, () -> worker.load("{\"command\": {\"dispatch_command\": \"true\", "
            + "\"cancel_command\": \"kill $(cat pid)\"}}", null, hostEnv, "--backend", "command", "--worker-id", "w"))
            .getMessage());
    // a Go YAML block runs its commands with /bin/sh unless it opts out
    Path yaml = Files.writeString(file("no-shell.yaml"),
        "worker_id: w\nbackend:\n  command:\n    dispatch_command: \"exec python3 d.py\"\n    shell: \"\"\n");
    assertEquals("command.dispatch_command needs a shell (it has the shell builtin \"exec\"), and command.shell is "
            + "not set: set command.shell to \"/bin/sh\" to run it as /bin/sh -c <command>, or write it as a program "
            + "and its arguments",
        assertThrows(ConfigException.class, () -> worker.load(null, yaml, hostEnv)).getMessage());
    Path goYaml = Files.writeString(file("go.yaml"),
        "worker_id: w\nbackend:\n  command:\n    dispatch_command: \"exec python3 d.py | tee log\"\n");
    assertEquals("/bin/sh", worker.load(null, goYaml, hostEnv).backendBlock("command").getString("shell"));
  }

  @Test
  void theConfiguredShellRunsTheCommands() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "needs bash");
    start(new JsonObject().put("shell", "/bin/bash")
        .put("dispatch_command", "[[ -n $BASH_VERSION ]] && echo bash > " + file("shell")));
    worker.assign(Assignments.data("run-bash"));
    awaitFile(file("shell"));
    assertEquals("bash\n", Files.readString(file("shell")));
  }

  @Test
  void readinessNamesAMissingDispatchProgram() throws Exception {
    start(new JsonObject().put("dispatch_command", "no-such-dispatcher --fast"),
        new JsonObject().put("port", 0).put("host", "127.0.0.1"));
    var r = worker.get("/readyz");
    assertEquals(503, r.statusCode());
    assertEquals("backend command: the program of command.dispatch_command, \"no-such-dispatcher\", is not an "
        + "executable found on PATH", new JsonObject(r.body()).getString("reason"));
  }
}
