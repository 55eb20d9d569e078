package dev.oz.worker.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.model.Container;
import dev.oz.worker.testing.Assignments;
import dev.oz.worker.testing.Engine;
import dev.oz.worker.testing.LogCapture;
import dev.oz.worker.testing.LoopbackControlPlane;
import dev.oz.worker.testing.ReliabilityTable;
import dev.oz.worker.testing.WorkerHarness;
import dev.oz.worker.testing.WorkerProcess;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
  /**
   * The two slowest rows (a 60 s outage, 300 tasks: about 3 min together) run with {@code -Pfaults-long}, keeping CI
   * within its time; their rows in docs/RELIABILITY.md come from such a run.
   */
  static final String LONG = "long-fault";

  private static final ReliabilityTable TABLE = new ReliabilityTable(Path.of("docs", "RELIABILITY.md"));
  private static final Duration START = Duration.ofSeconds(90);
  private static final Duration END = Duration.ofSeconds(120);
  private static final String SECRET = "s3cret-" + UUID.randomUUID();
  /** 60 numbered lines, one every 0.5 s (about 30 s: a worker process takes seconds to start on a busy machine), each with a secret the worker must redact. */
  private static final String LONG_SCRIPT =
      "i=0; while [ $i -lt 60 ]; do echo \"line $i token=$SECRET_TOKEN\"; i=$((i+1)); sleep 0.5; done";

  /** How long the control plane stays away in the long-outage row (issue 14's number). */
  private static final Duration LONG_OUTAGE = Duration.ofSeconds(60);
  /** How long handshakes are refused with each status in the refused-handshakes row. */
  private static final Duration REFUSAL = Duration.ofSeconds(3);
  private static final Pattern OPS_PORT = Pattern.compile("Metrics and health on http://127\\.0\\.0\\.1:(\\d+)");
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  /** What every test's worker exposed (logs, /status, /metrics, the control plane's messages), for the secret sweep. */
  private static final List<String[]> SURFACES = new CopyOnWriteArrayList<>();
  /** API keys of every test's workers (the tasks' secret is {@link #SECRET}). */
  private static final List<String> API_KEYS = new CopyOnWriteArrayList<>();
  private static final List<String> WORKER_IDS = new CopyOnWriteArrayList<>();

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
    for (WorkerProcess p : processes) {
      if (p.process.isAlive()) {
        recordOpsEndpoints(p);
      }
    }
    processes.forEach(WorkerProcess::close);
    API_KEYS.add(apiKey);
    WORKER_IDS.add(workerId);
    for (int i = 0; i < processes.size(); i++) {
      SURFACES.add(new String[] {"worker log " + workerId + "#" + i, processes.get(i).output()});
    }
    for (JsonObject m : cp.received()) {
      SURFACES.add(new String[] {"control plane message", m.encode()});
    }
    for (LoopbackControlPlane.Handshake hs : cp.handshakes()) {
      SURFACES.add(new String[] {"handshake query", String.valueOf(hs.query())});
    }
    Engine.removeContainersOf(workerId);
    cp.close();
    cpVertx.close().await(20, TimeUnit.SECONDS);
  }

  /**
   * After the suite's runs: the API keys and the tasks' secret appear in no worker log, no {@code /status} or
   * {@code /metrics} answer and nothing the control plane received (the handshake's Authorization header is where
   * the key belongs); the secret shows up as {@code [REDACTED]} instead.
   */
  @AfterAll
  static void sweepSecretsAndWriteTable() {
    try {
      if (!API_KEYS.isEmpty()) {
        List<String> leaks = new ArrayList<>();
        long redacted = 0;
        for (String[] surface : SURFACES) {
          if (surface[1].contains(SECRET)) {
            leaks.add("task secret in " + surface[0]);
          }
          for (String key : API_KEYS) {
            if (surface[1].contains(key)) {
              leaks.add("API key in " + surface[0]);
            }
          }
          redacted += occurrences(surface[1], "token=[REDACTED]");
        }
        assertEquals(List.of(), leaks);
        assertTrue(redacted > 0, "the tasks printed their secret, so it must show up redacted somewhere");
        long logs = SURFACES.stream().filter(s -> s[0].startsWith("worker log")).count();
        long status = SURFACES.stream().filter(s -> s[0].startsWith("/status")).count();
        long metrics = SURFACES.stream().filter(s -> s[0].startsWith("/metrics")).count();
        long messages = SURFACES.stream().filter(s -> s[0].equals("control plane message")).count();
        long left = WORKER_IDS.stream().mapToLong(id -> Engine.containersOf(id).size()).sum();
        TABLE.row("secrets after the suite's worker-process runs",
            "the API key and a task env value appear nowhere in the worker logs, /status, /metrics or what the control"
                + " plane received, other than as [REDACTED]",
            API_KEYS.size() + " tests: " + logs + " worker logs, " + status + " /status and " + metrics
                + " /metrics answers, " + messages + " control-plane messages; leaks 0, [REDACTED] " + redacted + " times",
            left);
      }
    } finally {
      TABLE.write();
    }
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
    try (LogCapture logs = LogCapture.of("dev.oz.worker.docker");
        WorkerHarness h = WorkerHarness.start(o -> o.getLogs().setStream(true))) {
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
      // the log read after the exit may meet the removal: said as such, and not tried again
      assertFalse(logs.contains("could not be read after the exit"), logs.all());
      assertFalse(logs.contains("tries"), logs.all());
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

  @Test
  void socketDroppedThreeTimesWhileTenTasksRunAndSomeEndDuringEachDrop() throws Exception {
    WorkerProcess w = worker(false);
    List<String> tasks = ids("d", 10);
    for (String t : tasks) {
      assign(t, untilEnded(t));
    }
    for (String t : tasks) {
      awaitOutput(t, t + " up");
    }
    for (int round = 0; round < 3; round++) {
      int before = cp.handshakes().size();
      cp.rejectWith(503); // keeps the worker away while tasks end
      cp.dropConnection();
      end(tasks.get(3 * round), tasks.get(3 * round + 1), tasks.get(3 * round + 2));
      poll(() -> cp.handshakes().size() >= before + 2, START, () -> "worker did not retry");
      cp.rejectWith(0);
      awaitReconnected(cp.handshakes().size());
      assertHealthy(w);
    }
    end("d9");
    for (String t : tasks) {
      awaitTerminal(t);
    }
    poll(() -> Engine.containersOf(workerId).isEmpty(), Duration.ofSeconds(30), () -> "containers left: " + containers());
    assertHealthy(w);
    String counts = assertEachReportedOnce(tasks);
    stopGracefully(w);
    TABLE.row("control plane drops the socket while 10 tasks run, 3 end during each drop, 3 times",
        "each task claimed once and reported (a repeat only as the same report), output whole by offset, worker healthy",
        "claims 1 each, terminal reports " + counts + " (all completed, identical when repeated), lost bytes 0",
        Engine.containersOf(workerId).size());
  }

  @Test
  @org.junit.jupiter.api.Tag(LONG)
  void controlPlaneProcessGoneForALongOutage() throws Exception {
    WorkerProcess w = worker(false);
    List<String> tasks = List.of("g0", "g1");
    for (String t : tasks) {
      assign(t, untilEnded(t));
      awaitOutput(t, t + " up");
    }
    cp.stop();
    long start = System.nanoTime();
    end("g0");
    HttpResponse<String> ready = get(w, "/readyz");
    assertEquals(503, ready.statusCode(), "not ready while the control plane is away: " + ready.body());
    while (System.nanoTime() - start < LONG_OUTAGE.toNanos()) {
      assertHealthy(w); // alive all along, on a busy reconnect loop
      Thread.sleep(5_000);
    }
    int before = cp.handshakes().size();
    cp.restart();
    awaitReconnected(before);
    end("g1");
    assign("g2", untilEnded("g2"));
    awaitOutput("g2", "g2 up");
    end("g2");
    for (String t : List.of("g0", "g1", "g2")) {
      awaitTerminal(t);
    }
    poll(() -> Engine.containersOf(workerId).isEmpty(), Duration.ofSeconds(30), () -> "containers left: " + containers());
    assertHealthy(w);
    assertEquals(200, get(w, "/readyz").statusCode());
    String counts = assertEachReportedOnce(List.of("g0", "g1", "g2"));
    stopGracefully(w);
    TABLE.row("control plane process gone for a long outage with 2 tasks, 1 ends during it",
        "/healthz ok and /readyz 503 during the outage; after it both reported (a repeat only as the same report), a new"
            + " task runs",
        "outage " + LONG_OUTAGE.toSeconds() + " s, claims 1/1/1, terminal reports " + counts
            + " (completed, identical when repeated), lost bytes 0",
        Engine.containersOf(workerId).size());
  }

  @Test
  void handshakesRefusedWith503Then401ThenAccepted() throws Exception {
    WorkerProcess w = worker(false);
    List<String> tasks = List.of("r0", "r1");
    for (String t : tasks) {
      assign(t, untilEnded(t));
      awaitOutput(t, t + " up");
    }
    int start = cp.handshakes().size();
    long t0 = System.nanoTime();
    cp.rejectWith(503);
    cp.dropConnection();
    end("r0");
    Thread.sleep(REFUSAL.toMillis());
    int after503 = cp.handshakes().size();
    long t1 = System.nanoTime();
    cp.rejectWith(401);
    end("r1");
    Thread.sleep(REFUSAL.toMillis());
    int after401 = cp.handshakes().size();
    long window503Ms = (t1 - t0) / 1_000_000;
    long window401Ms = (System.nanoTime() - t1) / 1_000_000;
    assertHealthy(w);
    cp.rejectWith(0);
    awaitReconnected(after401);
    for (String t : tasks) {
      awaitTerminal(t);
    }
    int refused503 = after503 - start;
    int refused401 = after401 - after503;
    // reconnect_initial 100 ms doubling to reconnect_max 500 ms, each delay less up to 20 %: retries, not a hot loop
    assertTrue(refused503 >= 3 && refused503 <= window503Ms / 80 + 1, refused503 + " attempts in " + window503Ms + " ms");
    // a refused key goes straight to the longest delay (at least 400 ms); one attempt may still be on a 503 delay
    assertTrue(refused401 >= 2 && refused401 <= window401Ms / 400 + 2, refused401 + " attempts in " + window401Ms + " ms");
    assertTrue(w.output().contains("Authentication failed: the control plane refused the API key (HTTP 401)"),
        w.output());
    poll(() -> Engine.containersOf(workerId).isEmpty(), Duration.ofSeconds(30), () -> "containers left: " + containers());
    String counts = assertEachReportedOnce(tasks);
    assertHealthy(w);
    stopGracefully(w);
    TABLE.row("handshakes refused with 503, then 401, then accepted, while 2 tasks end",
        "the worker retries with backoff (401 at the longest delay), reconnects and reports each task",
        "attempts: " + refused503 + " refused 503 in " + window503Ms / 100 / 10.0 + " s, " + refused401
            + " refused 401 in " + window401Ms / 100 / 10.0 + " s; claims 1/1, terminal reports " + counts + " (completed, identical when repeated)",
        Engine.containersOf(workerId).size());
  }

  @Test
  void peerThatStopsReadingAndAnsweringPingsIsAbandonedAndEverythingReported() throws Exception {
    try (FreezingProxy proxy = FreezingProxy.start(cpVertx, cp.port())) {
      WorkerProcess w = worker(false, "ws://127.0.0.1:" + proxy.port() + LoopbackControlPlane.PATH,
          new JsonObject().put("ping_interval", "1s").put("idle_timeout", "3s"));
      List<String> tasks = List.of("f0", "f1");
      for (String t : tasks) {
        assign(t, untilEnded(t));
        awaitOutput(t, t + " up");
      }
      int before = cp.handshakes().size();
      proxy.freeze();
      end("f0"); // its report goes into a connection nobody reads
      poll(() -> w.output().contains("No data or pong from the control plane"), START,
          () -> "ping timeout not noticed:\n" + w.output());
      awaitReconnected(before);
      end("f1");
      for (String t : tasks) {
        awaitTerminal(t);
      }
      poll(() -> Engine.containersOf(workerId).isEmpty(), Duration.ofSeconds(30), () -> "containers left: " + containers());
      String counts = assertEachReportedOnce(tasks);
      assertHealthy(w);
      stopGracefully(w);
      TABLE.row("peer stops reading and answering pings (connection frozen) while a task ends",
          "the worker notices the ping timeout, reconnects and reports each task (a repeat only as the same report)",
          "ping timeout noticed, reconnected; claims 1/1, terminal reports " + counts
              + " (completed, identical when repeated), lost bytes 0",
          Engine.containersOf(workerId).size());
    }
  }

  @Test
  void thousandAssignmentsAtAConcurrencyLimitOfFive() throws Exception {
    WorkerProcess w = worker(false, cp.wsUrl(), new JsonObject(), "--max-concurrent-tasks", "5");
    List<String> tasks = ids("m", 1000);
    for (String t : tasks) {
      assign(t, untilEnded(t));
    }
    poll(() -> cp.received("task_rejected").size() >= 995, END, () -> "rejections: " + cp.received("task_rejected").size());
    List<String> running = tasks.subList(0, 5);
    for (String t : running) {
      awaitOutput(t, t + " up");
    }
    assertHealthy(w);
    assertEquals(5, cp.received("task_claimed").size());
    List<JsonObject> rejected = cp.received("task_rejected");
    assertEquals(995, rejected.size());
    assertEquals(tasks.subList(5, 1000), rejected.stream().map(m -> data(m).getString("task_id")).toList());
    assertTrue(rejected.stream().allMatch(m -> "worker at maximum concurrency".equals(data(m).getString("reason"))),
        rejected.get(0).encode());
    assertEquals(5, Engine.containersOf(workerId).size(), "no container for a rejected task");
    end(running.toArray(String[]::new));
    for (String t : running) {
      awaitTerminal(t);
    }
    poll(() -> Engine.containersOf(workerId).isEmpty(), Duration.ofSeconds(30), () -> "containers left: " + containers());
    String counts = assertEachReportedOnce(running);
    assertEquals(5, cp.received().stream().filter(WorkerFaultsIT::isTerminal).count(), "reports only for the 5 claimed");
    assertHealthy(w);
    stopGracefully(w);
    TABLE.row("1,000 assignments at --max-concurrent-tasks 5",
        "5 claimed and reported once, 995 task_rejected (at maximum concurrency) without a container, worker healthy",
        "claims 5, task_rejected 995, terminal reports " + counts + " (completed)",
        Engine.containersOf(workerId).size());
  }

  @Test
  @org.junit.jupiter.api.Tag(LONG)
  void threeHundredTrivialTasksWithoutALimit() throws Exception {
    WorkerProcess w = worker(false);
    List<String> tasks = ids("t", 300);
    long start = System.nanoTime();
    for (String t : tasks) {
      assign(t, "echo " + t + " ran");
    }
    poll(() -> cp.received().stream().filter(WorkerFaultsIT::isTerminal).count() >= 300, Duration.ofMinutes(8),
        () -> "terminal reports: " + cp.received().stream().filter(WorkerFaultsIT::isTerminal).count());
    long seconds = (System.nanoTime() - start) / 1_000_000_000;
    assertHealthy(w);
    List<String> notCompleted = new ArrayList<>();
    for (String t : tasks) {
      assertEquals(1, count("task_claimed", t), t + " claims");
      assertEquals(1, terminals(t), t + " terminal reports");
      if (!"task_completed".equals(terminal(t).getString("type"))) {
        notCompleted.add(terminal(t).encode());
      }
    }
    assertEquals(List.of(), notCompleted);
    poll(() -> Engine.containersOf(workerId).isEmpty(), Duration.ofSeconds(60), () -> "containers left: " + containers());
    stopGracefully(w);
    TABLE.row("300 trivial tasks at once without a concurrency limit",
        "each claimed once and reported once as completed, no container left, worker healthy",
        "claims 1 each, terminal reports 1 each (300 completed) in " + seconds + " s (this run's machine, all at once)",
        Engine.containersOf(workerId).size());
  }

  /**
   * A TCP proxy in front of the control plane whose {@link #freeze} turns the open connections into black holes in
   * both directions (a peer that neither reads nor answers pings); new connections pass normally.
   */
  private static final class FreezingProxy implements AutoCloseable {
    private final List<AtomicBoolean> frozen = new CopyOnWriteArrayList<>();
    private NetServer server;

    static FreezingProxy start(Vertx vertx, int targetPort) throws Exception {
      FreezingProxy proxy = new FreezingProxy();
      io.vertx.core.net.NetClient client = vertx.createNetClient();
      proxy.server = vertx.createNetServer().connectHandler(in -> {
        in.pause();
        client.connect(targetPort, "127.0.0.1").onSuccess(out -> {
          AtomicBoolean dead = new AtomicBoolean();
          proxy.frozen.add(dead);
          in.handler(bytes -> {
            if (!dead.get()) {
              out.write(bytes);
            }
          });
          out.handler(bytes -> {
            if (!dead.get()) {
              in.write(bytes);
            }
          });
          in.closeHandler(v -> out.close());
          out.closeHandler(v -> in.close());
          in.resume();
        }).onFailure(err -> in.close());
      }).listen(0, "127.0.0.1").await(20, TimeUnit.SECONDS);
      return proxy;
    }

    int port() {
      return server.actualPort();
    }

    /** Every connection open now stops passing bytes (they are dropped). */
    void freeze() {
      frozen.forEach(f -> f.set(true));
    }

    @Override
    public void close() throws Exception {
      server.close().await(20, TimeUnit.SECONDS);
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
    return worker(preserve, cp.wsUrl(), new JsonObject());
  }

  /**
   * A worker process with its ops endpoint on a free port of loopback; {@code connection} overrides the connection
   * settings, {@code extraArgs} are further flags.
   */
  private WorkerProcess worker(boolean preserve, String wsUrl, JsonObject connection, String... extraArgs)
      throws Exception {
    int before = cp.handshakes().size();
    JsonObject conf = new JsonObject()
        .put("logs", new JsonObject().put("stream", true))
        .put("metrics", new JsonObject().put("enabled", true).put("host", "127.0.0.1").put("port", 0))
        .put("docker", new JsonObject().put("pull_policy", new JsonArray().add("never"))
            .put("cancel_grace_period", "3s"))
        .put("connection", new JsonObject().put("reconnect_initial", "100ms").put("reconnect_max", "500ms")
            .put("close_timeout", "10s").mergeIn(connection));
    List<String> args = new ArrayList<>(List.of("--api-key", apiKey, "--worker-id", workerId, "--ws-url", wsUrl,
        "--server-root-url", "http://127.0.0.1:9", "-conf", conf.encode()));
    if (preserve) {
      args.add("--preserve-tasks-on-shutdown");
    }
    args.addAll(List.of(extraArgs));
    WorkerProcess p = WorkerProcess.start(args, logs.resolve("worker-" + processes.size() + ".log"));
    processes.add(p);
    poll(() -> cp.handshakes().size() > before && cp.connected(), START, () -> "worker did not connect:\n" + p.output());
    return p;
  }

  private int opsPort(WorkerProcess p) {
    Matcher m = OPS_PORT.matcher(p.output());
    if (!m.find()) {
      throw new AssertionError("the worker logged no ops port:\n" + p.output());
    }
    return Integer.parseInt(m.group(1));
  }

  private HttpResponse<String> get(WorkerProcess p, String path) {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + opsPort(p) + path))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new AssertionError(path + " did not answer: " + e, e);
    }
  }

  /** The process runs and its {@code /healthz} says ok; what {@code /status} and {@code /metrics} show goes to the sweep. */
  private void assertHealthy(WorkerProcess p) {
    assertTrue(p.process.isAlive(), "worker process exited:\n" + p.output());
    HttpResponse<String> health = get(p, "/healthz");
    assertEquals(200, health.statusCode(), health.body());
    recordOpsEndpoints(p);
  }

  private void recordOpsEndpoints(WorkerProcess p) {
    SURFACES.add(new String[] {"/status " + workerId, get(p, "/status").body()});
    SURFACES.add(new String[] {"/metrics " + workerId, get(p, "/metrics").body()});
  }

  /** A task that runs until the test ends it with {@link #end} (exit 0), printing the task's secret first. */
  private static String untilEnded(String taskId) {
    return "trap 'echo " + taskId + " done; exit 0' USR1; echo " + taskId + " up token=$SECRET_TOKEN;"
        + " while :; do sleep 0.5; done";
  }

  /** Ends a task started with {@link #untilEnded} and waits until its container no longer runs. */
  private void end(String... taskIds) {
    for (String t : taskIds) {
      Container c = Engine.containersOf(workerId).stream().filter(k -> t.equals(k.getLabels().get("oz.task.id")))
          .findFirst().orElseThrow(() -> new AssertionError(t + " has no container: " + containers()));
      Engine.docker().killContainerCmd(c.getId()).withSignal("USR1").exec();
    }
    for (String t : taskIds) {
      poll(() -> !"running".equals(state(t)), Duration.ofSeconds(30), () -> t + " still runs");
    }
  }

  /**
   * Per task: claimed once, at least one terminal report and any repeat identical, completed, and its output whole
   * by offset (the secret line redacted once, the end line once). Returns the terminal report counts, "/"-joined.
   */
  private String assertEachReportedOnce(List<String> tasks) {
    List<String> counts = new ArrayList<>();
    for (String t : tasks) {
      assertEquals(1, count("task_claimed", t), t + " claims");
      List<JsonObject> reports = cp.received().stream()
          .filter(m -> isTerminal(m) && t.equals(data(m).getString("task_id"))).toList();
      assertFalse(reports.isEmpty(), t + " never reported");
      assertTrue(reports.stream().allMatch(r -> r.equals(reports.get(0))), t + ": a repeat must be the same report: "
          + reports);
      assertEquals("task_completed", reports.get(0).getString("type"), reports.get(0).encode());
      String out = reassemble(t, "stdout").text;
      assertEquals(1, occurrences(out, t + " up token=[REDACTED]\n"), t + " output:\n" + out);
      assertEquals(1, occurrences(out, t + " done\n"), t + " output:\n" + out);
      counts.add(String.valueOf(reports.size()));
    }
    return String.join("/", counts);
  }

  private void awaitReconnected(int handshakesBefore) {
    poll(() -> cp.handshakes().size() > handshakesBefore && cp.connected(), START, () -> "worker did not reconnect");
  }

  private static List<String> ids(String prefix, int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(prefix + i);
    }
    return out;
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
