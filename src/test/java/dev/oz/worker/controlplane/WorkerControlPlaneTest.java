package dev.oz.worker.controlplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.protocol.FailureReason;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.testing.Assignments;
import dev.oz.worker.testing.FakeBackend;
import dev.oz.worker.testing.LogCapture;
import dev.oz.worker.testing.LoopbackControlPlane;
import dev.oz.worker.testing.WorkerHarness;
import dev.oz.worker.testing.Waits;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The worker against a real WebSocket control plane on loopback, with a backend the test drives. */
class WorkerControlPlaneTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final String KEY = "secret-api-key-4711";

  private WorkerHarness h;
  private Vertx vertx;
  private LoopbackControlPlane cp;
  private FakeBackend backend;

  @BeforeEach
  void setUp() {
    backend = new FakeBackend();
    h = WorkerHarness.create(backend);
    vertx = h.vertx;
    cp = h.cp;
    h.options().setApiKey(KEY).setWorkerId("worker-1").setWsUrl(cp.wsUrl() + "?region=eu");
  }

  @AfterEach
  void tearDown() {
    h.close();
  }

  private static <T> T await(io.vertx.core.Future<T> f) {
    try {
      return f.await(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** The worker tried to reach the stopped control plane {@code count} times since {@code logs} began. */
  private static void awaitFailedDials(LogCapture logs, int count) {
    Waits.until(() -> logs.messages().stream().filter(m -> m.contains("Failed to connect")).count() >= count, WAIT,
        logs::all);
  }

  private static JsonObject msg(String type, JsonObject data) {
    return new JsonObject().put("type", type).put("data", data);
  }

  @Test
  void connectsWithWorkerIdInQueryAndBearerKey() {
    h.deploy();
    LoopbackControlPlane.Handshake hs = cp.handshakes().get(0);
    assertEquals(LoopbackControlPlane.PATH, hs.path());
    assertEquals("region=eu&worker_id=worker-1", hs.query());
    assertEquals("Bearer " + KEY, hs.authorization());
    assertEquals("dev", hs.version(), "the version of a worker run from classes");
    assertEquals("execution-scoped-cancellation-v1", hs.capabilities());
  }

  @Test
  void claimsRunsAndReportsSuccess() {
    h.deploy();
    cp.send(Assignments.minimal("t1"));
    JsonObject claim = cp.awaitMessage("task_claimed", "t1", WAIT);
    assertEquals(msg("task_claimed", new JsonObject().put("task_id", "t1").put("worker_id", "worker-1")), claim);
    Waits.until(() -> backend.isRunning("t1"), WAIT, () -> "task not started");
    backend.complete("t1", TaskOutcome.succeeded());
    JsonObject done = cp.awaitMessage("task_completed", "t1", WAIT);
    assertEquals(msg("task_completed", new JsonObject().put("task_id", "t1").put("message", "Task completed successfully")), done);
    assertEquals(List.of("task_claimed", "task_completed"), cp.received().stream().map(m -> m.getString("type")).toList());
  }

  @Test
  void reportsFailureWithReasonAndExitCode() {
    h.deploy();
    cp.send(Assignments.minimal("t1"));
    Waits.until(() -> backend.isRunning("t1"), WAIT, () -> "task not started");
    backend.complete("t1", TaskOutcome.failed(FailureReason.CONTAINER_EXIT, "container exited with non-zero status: 3", 3));
    JsonObject failed = cp.awaitMessage("task_failed", "t1", WAIT);
    assertEquals(msg("task_failed", new JsonObject().put("task_id", "t1")
        .put("message", "Failed to execute task: container exited with non-zero status: 3")
        .put("failure_reason", "container_exit").put("exit_code", 3)), failed);
  }

  @Test
  void executionIdIsEchoedInTerminalReports() {
    h.deploy();
    cp.send(Assignments.envelope("task_assignment", Assignments.data("t1").put("execution_id", "ex-9")));
    Waits.until(() -> backend.isRunning("t1"), WAIT, () -> "task not started");
    backend.complete("t1", TaskOutcome.failed(FailureReason.IMAGE_PULL, "no such image"));
    JsonObject failed = cp.awaitMessage("task_failed", "t1", WAIT);
    assertEquals("ex-9", failed.getJsonObject("data").getString("execution_id"));
    assertFalse(failed.getJsonObject("data").containsKey("exit_code"), "exit_code 0 is omitted");
  }

  @Test
  void executionIdIsOnEveryReportOfATaskAssignedWithOne() {
    h.deploy();
    cp.send(Assignments.envelope("task_assignment", Assignments.data("t1").put("execution_id", "ex-1")));
    cp.send(Assignments.envelope("task_assignment", Assignments.data("t2").put("execution_id", "ex-2")));
    assertEquals(msg("task_claimed", new JsonObject().put("task_id", "t1").put("execution_id", "ex-1").put("worker_id", "worker-1")),
        cp.awaitMessage("task_claimed", "t1", WAIT));
    Waits.until(() -> backend.isRunning("t1") && backend.isRunning("t2"), WAIT, () -> "tasks not started");
    backend.complete("t1", TaskOutcome.succeeded());
    assertEquals(msg("task_completed", new JsonObject().put("task_id", "t1").put("execution_id", "ex-1")
        .put("message", "Task completed successfully")), cp.awaitMessage("task_completed", "t1", WAIT));
    cp.send(Assignments.cancellation("t2"));
    assertEquals(msg("task_completed", new JsonObject().put("task_id", "t2").put("execution_id", "ex-2")
            .put("message", "Task cancelled by user request.").put("task_state", "CANCELLED")),
        cp.awaitMessage("task_completed", "t2", WAIT));
  }

  @Test
  void rejectsAtCapacityWithoutClaiming() {
    WorkerOptions o = h.options().setMaxConcurrentTasks(1);
    h.deploy();
    cp.send(Assignments.minimal("t1"));
    cp.awaitMessage("task_claimed", "t1", WAIT);
    cp.send(Assignments.minimal("t2"));
    JsonObject rejected = cp.awaitMessage("task_rejected", "t2", WAIT);
    assertEquals(msg("task_rejected", new JsonObject().put("task_id", "t2").put("reason", "worker at maximum concurrency")), rejected);
    assertTrue(cp.received("task_claimed").stream().noneMatch(m -> m.getJsonObject("data").getString("task_id").equals("t2")));
    Waits.until(() -> !backend.executed().isEmpty(), WAIT, () -> "t1 never reached the backend");
    assertEquals(1, backend.executed().size());

    // the slot frees when t1 ends
    backend.complete("t1", TaskOutcome.succeeded());
    cp.awaitMessage("task_completed", "t1", WAIT);
    cp.send(Assignments.minimal("t3"));
    cp.awaitMessage("task_claimed", "t3", WAIT);
  }

  @Test
  void duplicateAssignmentOfActiveTaskIsNotStartedTwice() {
    h.deploy();
    cp.send(Assignments.minimal("t1"));
    cp.awaitMessage("task_claimed", "t1", WAIT);
    cp.send(Assignments.minimal("t1"));
    cp.send(Assignments.minimal("t2"));
    cp.awaitMessage("task_claimed", "t2", WAIT);
    assertEquals(2, cp.received("task_claimed").stream().filter(m -> m.getJsonObject("data").getString("task_id").equals("t1")).count(),
        "the claim is repeated (the first may have been lost) but the task runs once");
    // the claim goes out before the task reaches the backend (its log stream is opened in between)
    Waits.until(() -> backend.executed().size() >= 2, WAIT, () -> "executed: " + backend.executed());
    assertEquals(List.of("t1", "t2"), backend.executed().stream().map(s -> s.taskId()).toList());
  }

  @Test
  void cancellationOfActiveTaskReportsCancelled() {
    h.deploy();
    cp.send(Assignments.minimal("t1"));
    Waits.until(() -> backend.isRunning("t1"), WAIT, () -> "task not started");
    cp.send(Assignments.cancellation("t1"));
    JsonObject done = cp.awaitMessage("task_completed", "t1", WAIT);
    assertEquals(msg("task_completed", new JsonObject().put("task_id", "t1")
        .put("message", "Task cancelled by user request.").put("task_state", "CANCELLED")), done);
    assertEquals(List.of("t1:USER"), backend.cancels());
  }

  @Test
  void cancellationRightBehindTheAssignmentIsNotLost() {
    h.deploy();
    cp.send(Assignments.minimal("t1"));
    cp.send(Assignments.cancellation("t1"));
    JsonObject done = cp.awaitMessage("task_completed", "t1", WAIT);
    assertEquals("CANCELLED", done.getJsonObject("data").getString("task_state"));
    // an assignment behind both reaches the backend after anything t1 could have started
    cp.send(Assignments.minimal("probe"));
    Waits.until(() -> backend.isRunning("probe"), WAIT, () -> "probe not started");
    assertFalse(backend.isRunning("t1"), "nothing left running");
  }

  @Test
  void shutdownWhileDisconnectedStillDeliversTheTerminalReports() throws Exception {
    h.deploy();
    cp.send(Assignments.minimal("t1"));
    Waits.until(() -> backend.isRunning("t1"), WAIT, () -> "task not started");
    cp.stop();
    io.vertx.core.Future<Void> undeployed = h.undeployAsync();
    Waits.until(() -> backend.cancels().contains("t1:SHUTDOWN"), WAIT, () -> "cancels " + backend.cancels());
    cp.restart(); // the task ended while the control plane was away
    JsonObject failed = cp.awaitMessage("task_failed", "t1", WAIT);
    assertEquals("graceful_shutdown", failed.getJsonObject("data").getString("failure_reason"));
    undeployed.await(20, TimeUnit.SECONDS);
    Waits.until(() -> cp.closeCodes().contains((short) 1000), WAIT, () -> "close codes " + cp.closeCodes());
  }

  @Test
  void cancellationOfUnknownTaskIsLoggedAndIgnored() {
    try (LogCapture logs = LogCapture.of("dev.oz.worker")) {
      h.deploy();
      cp.send(Assignments.cancellation("nope"));
      Waits.until(() -> logs.contains("Received cancellation for inactive task: taskID=nope"), WAIT, logs::all);
      cp.send(Assignments.minimal("t1"));
      cp.awaitMessage("task_claimed", "t1", WAIT);
      assertTrue(backend.cancels().isEmpty());
    }
  }

  @Test
  void malformedMessagesAreWarnedAboutAndTheConnectionStaysUp() {
    try (LogCapture logs = LogCapture.of("dev.oz.worker")) {
      h.deploy();
      cp.sendRaw("{not json");
      cp.sendRaw("[1,2]");
      cp.sendRaw("[3,4]"); // the same fault again: not warned about twice
      cp.send(Assignments.envelope("heartbeat_v9", new JsonObject()));
      cp.send(Assignments.envelope("task_assignment", new JsonObject().put("task", new JsonObject())));
      cp.send(Assignments.envelope("task_assignment", new JsonObject().put("task_id", "t0")));
      cp.send(Assignments.envelope("task_assignment", Assignments.data("t9").put("env_vars", new JsonObject().put("A", 1))));
      cp.send(Assignments.minimal("t1"));
      cp.awaitMessage("task_claimed", "t1", WAIT);
      assertEquals(1, cp.handshakes().size(), "connection stayed up");
      // the claim goes out before the backend starts the task; what came before t1 has been dealt with by then
      Waits.until(() -> backend.isRunning("t1"), WAIT, () -> "t1 not started");
      assertEquals(List.of("t1"), backend.executed().stream().map(s -> s.taskId()).toList());
      String log = logs.all();
      assertTrue(log.contains("invalid JSON"), log);
      assertTrue(log.contains("message is not a JSON object"), log);
      assertEquals(1, logs.messages().stream().filter(m -> m.startsWith("WARN") && m.contains("message is not a JSON object"))
          .count(), "one warning per cause: " + log);
      assertTrue(log.contains("unknown message type \"heartbeat_v9\""), log);
      assertTrue(log.contains("missing \"task_id\""), log);
      assertTrue(log.contains("task_assignment t0 has no \"task\""), log);
      assertTrue(log.contains("env_vars.A must be a string"), log);
      // an assignment whose task_id is readable is answered, so the control plane is not left waiting
      assertEquals("invalid assignment: task_assignment t0 has no \"task\"",
          cp.awaitMessage("task_rejected", "t0", WAIT).getJsonObject("data").getString("reason"));
      assertEquals("invalid assignment: env_vars.A must be a string",
          cp.awaitMessage("task_rejected", "t9", WAIT).getJsonObject("data").getString("reason"));
    }
  }

  @Test
  void reportOfTaskThatEndedWhileDisconnectedArrivesAfterReconnect() {
    h.deploy();
    cp.send(Assignments.minimal("t1"));
    cp.awaitMessage("task_claimed", "t1", WAIT);
    Waits.until(() -> backend.isRunning("t1"), WAIT, () -> "task not started");

    try (LogCapture logs = LogCapture.of("dev.oz.worker")) {
      cp.stop();
      backend.complete("t1", TaskOutcome.failed(FailureReason.CONTAINER_EXIT, "container exited with non-zero status: 7", 7));
      awaitFailedDials(logs, 2);
      // as the operator reads it, on epoll as on NIO: the reason, not the system call that met it
      assertTrue(logs.messages().stream().anyMatch(m -> m.matches(
          "ERROR Failed to connect: Connection refused: \\S*/127\\.0\\.0\\.1:\\d+, retrying in \\d+ ms")), logs::all);
    }
    assertTrue(cp.received("task_failed").isEmpty());

    cp.restart();
    JsonObject failed = cp.awaitMessage("task_failed", "t1", WAIT);
    assertEquals(7, failed.getJsonObject("data").getInteger("exit_code"));
    assertEquals(2, cp.handshakes().size(), "reconnected once the server was back");
    assertEquals(1, cp.received("task_failed").size());
  }

  @Test
  void reportsQueuedAcrossADroppedConnectionStayInOrder() {
    h.deploy();
    for (int i = 0; i < 5; i++) {
      cp.send(Assignments.minimal("t" + i));
    }
    Waits.until(() -> backend.executed().size() == 5, WAIT, () -> "tasks not started");
    try (LogCapture logs = LogCapture.of("dev.oz.worker")) {
      cp.stop();
      for (int i = 0; i < 5; i++) {
        backend.complete("t" + i, TaskOutcome.succeeded());
      }
      awaitFailedDials(logs, 2); // the reports wait in the outbox meanwhile
    }
    cp.restart();
    Waits.until(() -> cp.received("task_completed").size() == 5, WAIT, () -> "got " + cp.received());
    assertEquals(List.of("t0", "t1", "t2", "t3", "t4"),
        cp.received("task_completed").stream().map(m -> m.getJsonObject("data").getString("task_id")).toList());
  }

  @Test
  void refusedApiKeyIsLoggedAsAuthenticationProblemWithoutTheKey() {
    cp.rejectWith(401);
    try (LogCapture logs = LogCapture.root()) {
      await(h.deployAsync());
      Waits.until(() -> logs.contains("Authentication failed"), WAIT, logs::all);
      assertTrue(logs.contains("HTTP 401"), logs.all());
      assertFalse(logs.all().contains(KEY), "the API key must never be logged");
      cp.rejectWith(0);
      cp.awaitConnections(2, WAIT);
      assertFalse(logs.all().contains(KEY), "the API key must never be logged");
    }
  }

  @Test
  void sendsPingsAndKeepsTheConnection() {
    WorkerOptions o = h.options();
    o.getConnection().setPingInterval(Duration.ofMillis(100)).setIdleTimeout(Duration.ofMillis(800));
    h.deploy();
    Waits.until(() -> cp.pings() >= 5, WAIT, () -> "pings: " + cp.pings());
    assertEquals(1, cp.handshakes().size(), "pongs keep the connection alive");
  }

  @Test
  void deadConnectionIsDetectedAndReplaced() throws Exception {
    try (SilentWebSocketServer silent = SilentWebSocketServer.start(vertx)) {
      WorkerOptions o = h.options().setWsUrl(silent.wsUrl());
      o.getConnection().setPingInterval(Duration.ofMillis(100)).setIdleTimeout(Duration.ofMillis(500));
      try (LogCapture logs = LogCapture.of("dev.oz.worker")) {
        await(h.deployAsync());
        Waits.until(() -> silent.connections() >= 2, WAIT, () -> "connections: " + silent.connections());
        assertTrue(logs.contains("connection is dead"), logs.all());
      }
    }
  }

  @Test
  void undeployClosesWithNormalClosureAndReleasesTheBackend() {
    h.deploy();
    h.undeploy();
    Waits.until(() -> !cp.closeCodes().isEmpty(), WAIT, () -> "no close");
    assertEquals(List.of((short) 1000), cp.closeCodes());
    assertTrue(backend.isShutDown());
  }

  @Test
  void deploysFromJsonConfig() {
    JsonObject config = h.options().toJson();
    await(h.deployFromJson(config));
    cp.awaitConnections(1, WAIT);
    assertEquals("Bearer " + KEY, cp.handshakes().get(0).authorization());
  }

  @Test
  void invalidJsonConfigFailsTheDeploymentWithTheReason() {
    JsonObject config = h.options().toJson().put("max_concurrent_tasks", -1);
    io.vertx.core.Future<String> f = h.deployFromJson(config);
    try {
      f.await(10, TimeUnit.SECONDS);
      throw new AssertionError("deployment should fail");
    } catch (Exception e) {
      assertTrue(e.getMessage().contains("max_concurrent_tasks must not be negative"), e.getMessage());
    }
    assertTrue(cp.handshakes().isEmpty());
  }
}
