package dev.oz.worker.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.model.Container;
import dev.oz.worker.testing.Assignments;
import dev.oz.worker.testing.Engine;
import dev.oz.worker.testing.LoopbackControlPlane;
import dev.oz.worker.testing.ReliabilityTable;
import dev.oz.worker.testing.WorkerHarness;
import dev.oz.worker.testing.WorkerProcess;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Real faults against the real engine, with the worker as a process of its own (so it can be SIGKILLed) and a
 * loopback control plane that records everything: per task, the claims, exactly one terminal report, the output
 * without lost or duplicated bytes (reassembled by {@code offset}, as a de-duplicating control plane keeps it), and
 * the containers left. Each test adds its row to {@code docs/RELIABILITY.md}.
 */
class WorkerFaultsIT {
  private static final ReliabilityTable TABLE = new ReliabilityTable(Path.of("docs", "RELIABILITY.md"));
  private static final Duration START = Duration.ofSeconds(90);
  private static final Duration END = Duration.ofSeconds(120);
  private static final String SECRET = "s3cret-" + UUID.randomUUID();
  /** 60 numbered lines, one every 0.5 s (about 30 s: a worker process takes seconds to start on a busy machine), each with a secret the worker must redact. */
  private static final String LONG_SCRIPT =
      "i=0; while [ $i -lt 60 ]; do echo \"line $i token=$SECRET_TOKEN\"; i=$((i+1)); sleep 0.5; done";

  /** Worker process logs, kept for a look after a failure. */
  private Path logs;
  private Vertx cpVertx;
  private LoopbackControlPlane cp;
  private String workerId;
  private final String apiKey = "fault-key-" + UUID.randomUUID();
  private final List<WorkerProcess> processes = new ArrayList<>();

  @BeforeEach
  void setUp() throws Exception {
    Engine.docker();
    cpVertx = Vertx.vertx();
    cp = LoopbackControlPlane.start(cpVertx);
    workerId = "fault-" + UUID.randomUUID().toString().substring(0, 8);
    logs = Path.of("target", "fault-logs", workerId);
    java.nio.file.Files.createDirectories(logs);
  }

  @AfterEach
  void tearDown() throws Exception {
    processes.forEach(WorkerProcess::close);
    Engine.removeContainersOf(workerId);
    cp.close();
    cpVertx.close().await(20, TimeUnit.SECONDS);
  }

  @AfterAll
  static void writeTable() {
    TABLE.write();
  }

  @Test
  void workerSigkilledWithThreeTasksThenRestartedAdoptsAndReportsEachOnce() throws Exception {
    WorkerProcess first = worker(true);
    assign("k1", LONG_SCRIPT);
    assign("k2", LONG_SCRIPT);
    assign("k3", "echo short; sleep 4; exit 3");
    awaitOutput("k1", "line ");
    awaitOutput("k2", "line ");
    awaitOutput("k3", "short");
    first.signal("KILL");
    first.awaitExit(Duration.ofSeconds(30));
    poll(() -> "exited".equals(state("k3")), Duration.ofSeconds(30), () -> "k3 did not end: " + state("k3"));
    assertEquals("running", state("k1"), "SIGKILL leaves the containers alone");
    assertEquals("running", state("k2"));

    WorkerProcess second = worker(true);
    for (String t : List.of("k1", "k2", "k3")) {
      awaitTerminal(t);
    }
    poll(() -> Engine.containersOf(workerId).isEmpty(), Duration.ofSeconds(30), () -> "containers left: " + containers());
    stopGracefully(second);

    assertEquals(2, count("task_claimed", "k1"), "claimed, then claimed again by the restarted worker");
    assertEquals(2, count("task_claimed", "k2"));
    assertEquals(1, count("task_claimed", "k3"), "ended while unwatched: reported, not claimed again");
    for (String t : List.of("k1", "k2")) {
      JsonObject done = terminal(t);
      assertEquals("task_completed", done.getString("type"), done.encode());
      assertEquals("Task completed successfully", data(done).getString("message"));
    }
    JsonObject failed = terminal("k3");
    assertEquals("task_failed", failed.getString("type"));
    assertEquals("container_exit", data(failed).getString("failure_reason"));
    assertEquals(3, data(failed).getInteger("exit_code"));
    long replayed = 0;
    for (String t : List.of("k1", "k2")) {
      Reassembled out = reassemble(t, "stdout");
      for (int i = 0; i < 60; i++) {
        assertEquals(1, occurrences(out.text, "line " + i + " token=[REDACTED]\n"), t + " line " + i + ":\n" + out.text);
      }
      assertFalse(out.text.contains(SECRET));
      replayed += out.duplicateBytes;
    }
    assertTrue(replayed > 0, "the adopting worker replays the output from the start (de-duplicated by offset)");
    assertTrue(reassemble("k3", "stdout").text.contains("short\n"));
    TABLE.row("worker SIGKILL with 3 tasks, restart with preservation",
        "running tasks claimed again and reported once; the one that ended meanwhile reported from its exit code;"
            + " output whole, no byte twice by offset",
        observed("k1", "k2", "k3") + ", lost bytes 0, duplicate bytes after de-duplication 0 (" + replayed
            + " replayed)",
        Engine.containersOf(workerId).size());
  }

  @Test
  void workerSigkilledWithoutPreservationReportsItsOrphansAtRestart() throws Exception {
    WorkerProcess first = worker(false);
    assign("o1", LONG_SCRIPT);
    assign("o2", LONG_SCRIPT);
    awaitOutput("o1", "line ");
    awaitOutput("o2", "line ");
    first.signal("KILL");
    first.awaitExit(Duration.ofSeconds(30));
    assertEquals("running", state("o1"));

    WorkerProcess second = worker(false);
    for (String t : List.of("o1", "o2")) {
      awaitTerminal(t);
    }
    poll(() -> Engine.containersOf(workerId).isEmpty(), Duration.ofSeconds(30), () -> "containers left: " + containers());
    stopGracefully(second);
    for (String t : List.of("o1", "o2")) {
      assertEquals(1, count("task_claimed", t), "an orphan is not claimed again");
      JsonObject failed = terminal(t);
      assertEquals("task_failed", failed.getString("type"));
      assertEquals("graceful_shutdown", data(failed).getString("failure_reason"));
      assertEquals("Failed to execute task: the worker restarted while the task was running and does not continue it"
          + " (docker.preserve_tasks_on_shutdown is off): its container was stopped", data(failed).getString("message"));
    }
    TABLE.row("worker SIGKILL with 2 tasks, restart without preservation (default)",
        "each orphan reported once as task_failed graceful_shutdown before its container is removed",
        observed("o1", "o2"), Engine.containersOf(workerId).size());
  }

  @Test
  void sigtermWithPreservationLeavesTheContainersToTheNextProcess() throws Exception {
    WorkerProcess first = worker(true);
    assign("p1", LONG_SCRIPT);
    assign("p2", LONG_SCRIPT);
    awaitOutput("p1", "line ");
    awaitOutput("p2", "line ");
    first.signal("TERM");
    assertEquals(0, first.awaitExit(Duration.ofSeconds(60)), first.output());
    assertEquals(0, terminals("p1") + terminals("p2"), "nothing reported by the worker that left them running");
    assertEquals("running", state("p1"), "the containers outlive the worker");
    assertEquals("running", state("p2"));
    assertTrue(first.output().contains("Leaving 2 running task(s) to the backend"), first.output());

    WorkerProcess second = worker(true);
    for (String t : List.of("p1", "p2")) {
      awaitTerminal(t);
    }
    poll(() -> Engine.containersOf(workerId).isEmpty(), Duration.ofSeconds(30), () -> "containers left: " + containers());
    stopGracefully(second);
    for (String t : List.of("p1", "p2")) {
      assertEquals(2, count("task_claimed", t));
      assertEquals("task_completed", terminal(t).getString("type"));
      Reassembled out = reassemble(t, "stdout");
      for (int i = 0; i < 60; i++) {
        assertEquals(1, occurrences(out.text, "line " + i + " token=[REDACTED]\n"), t + " line " + i);
      }
    }
    TABLE.row("worker SIGTERM with 2 tasks, preserve_tasks_on_shutdown",
        "exit 0 without reports, containers keep running; the next process adopts and reports each once",
        "exit 0, reports at SIGTERM 0; then " + observed("p1", "p2") + ", lost bytes 0",
        Engine.containersOf(workerId).size());
  }

  @Test
  void sigtermWithoutPreservationCancelsAndReportsEachTask() throws Exception {
    WorkerProcess first = worker(false);
    assign("s1", LONG_SCRIPT);
    assign("s2", LONG_SCRIPT);
    awaitOutput("s1", "line ");
    awaitOutput("s2", "line ");
    first.signal("TERM");
    assertEquals(0, first.awaitExit(Duration.ofSeconds(60)), first.output());
    for (String t : List.of("s1", "s2")) {
      assertEquals(1, terminals(t), "one report each before the worker exits");
      JsonObject failed = terminal(t);
      assertEquals("graceful_shutdown", data(failed).getString("failure_reason"));
      assertEquals("Failed to execute task: the worker shut down while the task was running",
          data(failed).getString("message"));
    }
    assertEquals(List.of(), containers(), "cancelled containers are removed");
    assertNoSecretsInWorkerLogs();
    TABLE.row("worker SIGTERM with 2 tasks, default (no preservation)",
        "each task stopped and reported once as task_failed graceful_shutdown, containers removed, exit 0",
        "exit 0, " + observed("s1", "s2"), Engine.containersOf(workerId).size());
  }

  @Test
  void taskContainerKilledAndRemovedFromOutside() {
    try (WorkerHarness h = WorkerHarness.start(o -> o.getLogs().setStream(true))) {
      h.assign(WorkerHarness.scriptTask("x1", "echo started; sleep 60"));
      h.cp.await(m -> "task_log".equals(m.getString("type")) && data(m).getString("data").contains("started"),
          START);
      Container c = Engine.containersOf(h.workerId()).stream()
          .filter(k -> "x1".equals(k.getLabels().get("oz.task.id"))).findFirst().orElseThrow();
      Engine.docker().removeContainerCmd(c.getId()).withForce(true).exec();
      JsonObject failed = h.awaitTerminal("x1", END);
      JsonObject next = h.run(WorkerHarness.scriptTask("x2", "echo still healthy"));
      long reports = h.cp.received().stream().filter(m -> isTerminal(m) && "x1".equals(data(m).getString("task_id")))
          .count();
      assertEquals(1, reports);
      assertEquals("task_failed", failed.getString("type"), failed.encode());
      String reason = data(failed).getString("failure_reason");
      assertTrue(List.of("container_exit", "container_wait").contains(reason), failed.encode());
      assertEquals("task_completed", next.getString("type"), "the worker goes on taking tasks");
      poll(() -> Engine.containersOf(h.workerId()).isEmpty(), Duration.ofSeconds(30), () -> "containers left");
      TABLE.row("task container killed and removed from outside",
          "task reported once as failed, the worker keeps working",
          "terminal reports 1 (failed " + reason + (data(failed).containsKey("exit_code")
              ? " " + data(failed).getInteger("exit_code") : "") + "), next task completed",
          Engine.containersOf(h.workerId()).size());
    }
  }

  @Test
  void controlPlaneGoneWhileTasksRunAndSomeEndDuringTheOutage() {
    try (WorkerHarness h = WorkerHarness.start(o -> o.getLogs().setStream(true))) {
      LoopbackControlPlane plane = h.cp;
      h.assign(WorkerHarness.scriptTask("c1", "echo c1; sleep 2; echo c1 done"));
      h.assign(WorkerHarness.scriptTask("c2", "echo c2; sleep 2; exit 5"));
      h.assign(WorkerHarness.scriptTask("c3", "echo c3; sleep 12; echo c3 done"));
      for (String t : List.of("c1", "c2", "c3")) {
        plane.await(m -> "task_log".equals(m.getString("type")) && t.equals(data(m).getString("task_id")), START);
      }
      plane.stop();
      long outageStart = System.nanoTime();
      poll(() -> Engine.containersOf(h.workerId()).size() == 1, Duration.ofSeconds(30),
          () -> "c1 and c2 did not end during the outage: " + Engine.containersOf(h.workerId()).size());
      long outageMs = (System.nanoTime() - outageStart) / 1_000_000;
      plane.restart();
      for (String t : List.of("c1", "c2", "c3")) {
        h.awaitTerminal(t, END);
      }
      List<String> counts = new ArrayList<>();
      for (String t : List.of("c1", "c2", "c3")) {
        List<JsonObject> reports = plane.received().stream()
            .filter(m -> isTerminal(m) && t.equals(data(m).getString("task_id"))).toList();
        assertTrue(reports.stream().allMatch(r -> r.equals(reports.get(0))), t + ": a repeated report is the same: " + reports);
        counts.add(String.valueOf(reports.size()));
        String out = reassembleFrom(plane, t, "stdout").text;
        assertTrue(out.endsWith(t + (t.equals("c2") ? "\n" : " done\n")), t + " output: " + out);
        assertEquals(1, occurrences(out, t + "\n"));
      }
      JsonObject c2 = plane.received().stream().filter(m -> isTerminal(m) && "c2".equals(data(m).getString("task_id")))
          .findFirst().orElseThrow();
      assertEquals(5, data(c2).getInteger("exit_code"));
      poll(() -> Engine.containersOf(h.workerId()).isEmpty(), Duration.ofSeconds(30), () -> "containers left");
      TABLE.row("control plane gone while 3 tasks run, 2 end during the outage",
          "after reconnecting every task reported (a repeat only as the same report), output whole by offset",
          "outage " + (outageMs / 1000) + " s, terminal reports " + String.join("/", counts)
              + " (identical when repeated), lost bytes 0",
          Engine.containersOf(h.workerId()).size());
    }
  }

  // --- helpers

  /** What the control plane received, per task in order: claims, terminal reports and what they said. */
  private String observed(String... tasks) {
    List<String> claims = new ArrayList<>();
    List<String> terminals = new ArrayList<>();
    List<String> outcomes = new ArrayList<>();
    for (String t : tasks) {
      claims.add(String.valueOf(count("task_claimed", t)));
      terminals.add(String.valueOf(terminals(t)));
      JsonObject m = terminal(t);
      JsonObject d = data(m);
      outcomes.add("task_completed".equals(m.getString("type")) ? "completed"
          : "failed " + d.getString("failure_reason") + (d.containsKey("exit_code") ? " " + d.getValue("exit_code") : ""));
    }
    return "claims " + String.join("/", claims) + ", terminal reports " + String.join("/", terminals) + " ("
        + String.join(", ", outcomes) + ")";
  }

  private WorkerProcess worker(boolean preserve) throws Exception {
    int before = cp.handshakes().size();
    JsonObject conf = new JsonObject()
        .put("logs", new JsonObject().put("stream", true))
        .put("metrics", new JsonObject().put("enabled", false))
        .put("docker", new JsonObject().put("pull_policy", new io.vertx.core.json.JsonArray().add("never"))
            .put("cancel_grace_period", "3s"))
        .put("connection", new JsonObject().put("reconnect_initial", "100ms").put("reconnect_max", "500ms")
            .put("close_timeout", "10s"));
    List<String> args = new ArrayList<>(List.of("--api-key", apiKey, "--worker-id", workerId, "--ws-url", cp.wsUrl(),
        "--server-root-url", "http://127.0.0.1:9", "-conf", conf.encode()));
    if (preserve) {
      args.add("--preserve-tasks-on-shutdown");
    }
    WorkerProcess p = WorkerProcess.start(args, logs.resolve("worker-" + processes.size() + ".log"));
    processes.add(p);
    poll(() -> cp.handshakes().size() > before && cp.connected(), START, () -> "worker did not connect:\n" + p.output());
    return p;
  }

  private void stopGracefully(WorkerProcess p) throws Exception {
    p.signal("TERM");
    assertEquals(0, p.awaitExit(Duration.ofSeconds(60)), p.output());
    assertNoSecretsInWorkerLogs();
  }

  /** The API key and the tasks' secret value appear in no worker process's log. */
  private void assertNoSecretsInWorkerLogs() {
    for (WorkerProcess w : processes) {
      String out = w.output();
      assertFalse(out.contains(apiKey), "the API key never reaches the worker log");
      assertFalse(out.contains(SECRET), "task secrets never reach the worker log");
    }
  }

  private void assign(String taskId, String script) {
    cp.send(Assignments.envelope("task_assignment", WorkerHarness.scriptTask(taskId, script)
        .put("env_vars", new JsonObject().put("TEST_SCRIPT", script).put("SECRET_TOKEN", SECRET))));
  }

  /** The task's container runs: its output has arrived. */
  private void awaitOutput(String taskId, String text) {
    cp.await(m -> "task_log".equals(m.getString("type")) && taskId.equals(data(m).getString("task_id"))
        && data(m).getString("data").contains(text), START);
  }

  private void awaitTerminal(String taskId) {
    cp.await(m -> isTerminal(m) && taskId.equals(data(m).getString("task_id")), END);
  }

  private JsonObject terminal(String taskId) {
    return cp.received().stream().filter(m -> isTerminal(m) && taskId.equals(data(m).getString("task_id")))
        .findFirst().orElseThrow();
  }

  private long terminals(String taskId) {
    return cp.received().stream().filter(m -> isTerminal(m) && taskId.equals(data(m).getString("task_id"))).count();
  }

  private long count(String type, String taskId) {
    return cp.received(type).stream().filter(m -> taskId.equals(data(m).getString("task_id"))).count();
  }

  private static boolean isTerminal(JsonObject m) {
    return "task_completed".equals(m.getString("type")) || "task_failed".equals(m.getString("type"));
  }

  private static JsonObject data(JsonObject m) {
    return m.getJsonObject("data", new JsonObject());
  }

  /** A stream as a control plane that keeps bytes by position has it. */
  private record Reassembled(String text, long duplicateBytes) {
  }

  /**
   * Puts every chunk of the stream at its offset: overlapping chunks must agree byte for byte (a replay, never
   * different output at the same position) and the positions must leave no hole that no {@code dropped_bytes}
   * announced.
   */
  private Reassembled reassemble(String taskId, String stream) {
    return reassembleFrom(cp, taskId, stream);
  }

  private static Reassembled reassembleFrom(LoopbackControlPlane cp, String taskId, String stream) {
    List<JsonObject> chunks = cp.received("task_log").stream().map(WorkerFaultsIT::data)
        .filter(d -> taskId.equals(d.getString("task_id")) && stream.equals(d.getString("stream"))
            && d.getValue("offset") != null)
        .sorted(Comparator.comparingLong(d -> d.getLong("offset")))
        .toList();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    long duplicates = 0;
    for (JsonObject c : chunks) {
      byte[] bytes = c.getString("data").getBytes(StandardCharsets.UTF_8);
      long offset = c.getLong("offset");
      long have = out.size();
      assertTrue(offset <= have || c.getLong("dropped_bytes", 0L) >= offset - have,
          taskId + ": bytes " + have + ".." + offset + " of " + stream + " never arrived");
      byte[] sofar = out.toByteArray();
      for (long i = offset; i < Math.min(have, offset + bytes.length); i++) {
        assertEquals(sofar[(int) i], bytes[(int) (i - offset)], taskId + ": different bytes at position " + i);
        duplicates++;
      }
      if (offset + bytes.length > have) {
        int from = (int) Math.max(0, have - offset);
        out.write(bytes, from, bytes.length - from);
      }
    }
    assertNull(cp.received("task_log").stream().map(WorkerFaultsIT::data)
        .filter(d -> taskId.equals(d.getString("task_id")) && d.getValue("offset") == null
            && !d.getString("data").isEmpty() && !d.getBoolean("truncated", false))
        .findFirst().orElse(null), "every chunk of task output has its offset");
    return new Reassembled(out.toString(StandardCharsets.UTF_8), duplicates);
  }

  static int occurrences(String text, String part) {
    int n = 0;
    for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
      n++;
    }
    return n;
  }

  private String state(String taskId) {
    return Engine.containersOf(workerId).stream()
        .filter(c -> taskId.equals(c.getLabels().get("oz.task.id")))
        .map(Container::getState).findFirst().orElse("gone");
  }

  private List<String> containers() {
    return Engine.containersOf(workerId).stream()
        .map(c -> c.getLabels().getOrDefault("oz.task.id", "?") + ":" + c.getState()).toList();
  }

  /** Polls a condition that asks the engine, a few times a second. */
  private static void poll(BooleanSupplier condition, Duration timeout, Supplier<String> failure) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(failure.get());
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted");
      }
    }
  }
}
