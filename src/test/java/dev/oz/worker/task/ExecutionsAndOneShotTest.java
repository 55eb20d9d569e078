package dev.oz.worker.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.backend.BackendCapabilities;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.bus.Addresses;
import dev.oz.worker.testing.Assignments;
import dev.oz.worker.testing.FakeBackend;
import dev.oz.worker.testing.LogCapture;
import dev.oz.worker.testing.LoopbackControlPlane;
import dev.oz.worker.testing.WorkerHarness;
import dev.oz.worker.testing.Waits;
import io.vertx.core.eventbus.DeliveryContext;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The newer Go worker's lifecycle rules (execution-scoped cancellation, one-shot mode, the shutdown rejection) and
 * ours beyond it (task_timeout).
 */
class ExecutionsAndOneShotTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private WorkerHarness h;
  private LoopbackControlPlane cp;
  private FakeBackend backend;

  @BeforeEach
  void setUp() {
    backend = new FakeBackend();
    h = WorkerHarness.create(backend);
    cp = h.cp;
    h.options().setWorkerId("w-exec");
  }

  @AfterEach
  void tearDown() {
    h.close();
  }

  private static JsonObject assignment(String taskId, String executionId) {
    return Assignments.envelope("task_assignment", Assignments.data(taskId).put("execution_id", executionId));
  }

  private static JsonObject cancellation(String taskId, String executionId) {
    return Assignments.envelope("task_cancellation", new JsonObject().put("task_id", taskId).put("execution_id", executionId));
  }

  private List<String> types(String taskId) {
    return cp.received().stream().filter(m -> taskId.equals(m.getJsonObject("data").getString("task_id")))
        .map(m -> m.getString("type")).toList();
  }

  @Test
  void cancellationOfAnotherExecutionIsIgnoredAndTheNamedOneIsClosedOnceThenReplayed() throws Exception {
    h.deploy();
    cp.send(assignment("t1", "ex-2"));
    Waits.until(() -> backend.isRunning("t1"), WAIT, () -> "not started");
    cp.send(cancellation("t1", "ex-1"));
    cp.send(Assignments.minimal("probe"));
    cp.awaitMessage("task_claimed", "probe", WAIT); // the cancellation was handled before the probe
    assertTrue(backend.isRunning("t1"), "a cancellation of another execution leaves this one running");
    assertEquals(List.of(), backend.cancels());

    cp.send(cancellation("t1", "ex-2"));
    assertEquals(new JsonObject().put("type", "execution_closed")
        .put("data", new JsonObject().put("task_id", "t1").put("execution_id", "ex-2")),
        cp.awaitMessage("execution_closed", "t1", WAIT));
    assertEquals(List.of("task_claimed", "task_completed", "execution_closed"), types("t1"),
        "closed after the terminal report, once the backend confirmed the end");
    assertEquals(List.of("t1:USER"), backend.cancels());

    cp.send(cancellation("t1", "ex-2"));
    Waits.until(() -> types("t1").size() == 4, WAIT, () -> "types " + types("t1"));
    assertEquals("execution_closed", types("t1").get(3), "a repeat is answered again");
    assertEquals(List.of("t1:USER"), backend.cancels(), "without touching the backend");
  }

  @Test
  void cancellationWithoutAnExecutionIdCancelsWhateverRunsAndSendsNoExecutionClosed() throws Exception {
    h.deploy();
    cp.send(assignment("t1", "ex-1"));
    Waits.until(() -> backend.isRunning("t1"), WAIT, () -> "not started");
    cp.send(Assignments.cancellation("t1"));
    assertEquals("CANCELLED", cp.awaitMessage("task_completed", "t1", WAIT).getJsonObject("data").getString("task_state"));
    cp.send(Assignments.minimal("probe"));
    cp.awaitMessage("task_claimed", "probe", WAIT);
    assertEquals(List.of("task_claimed", "task_completed"), types("t1"));
  }

  @Test
  void aCancellationArrivingWhileADispatchedTaskFlushesItsLogReachesTheBackend() throws Exception {
    h.deploy();
    // hold the dispatched task's log close, so the cancellation lands while the task is still being finished
    List<DeliveryContext<Object>> held = new CopyOnWriteArrayList<>();
    h.vertx.eventBus().addOutboundInterceptor(ctx -> {
      if (ctx.message().address().endsWith(Addresses.LOG_CLOSE) && "t-d".equals(ctx.message().body())) {
        held.add(ctx);
      } else {
        ctx.next();
      }
    });
    cp.send(Assignments.minimal("t-d"));
    Waits.until(() -> backend.isRunning("t-d"), WAIT, () -> "not started");
    backend.complete("t-d", TaskOutcome.dispatched());
    Waits.until(() -> !held.isEmpty(), WAIT, () -> "the log close never came");
    cp.send(Assignments.cancellation("t-d"));
    cp.send(Assignments.minimal("probe"));
    cp.awaitMessage("task_claimed", "probe", WAIT); // the cancellation was handled before the probe
    held.forEach(DeliveryContext::next);
    assertEquals(List.of("t-d:USER"), backend.cancels(), "the dispatched run is told, as after the flush");
    assertEquals(List.of("task_claimed"), types("t-d"), "the system it was handed to reports it, not this worker");
  }

  @Test
  void cancellationNamingAnEndedExecutionIsAnsweredWithExecutionClosed() throws Exception {
    h.deploy();
    cp.send(assignment("t1", "ex-1"));
    Waits.until(() -> backend.isRunning("t1"), WAIT, () -> "not started");
    backend.complete("t1", TaskOutcome.succeeded());
    cp.awaitMessage("task_completed", "t1", WAIT);
    cp.send(cancellation("t1", "ex-1"));
    cp.awaitMessage("execution_closed", "t1", WAIT);
    assertEquals(List.of(), backend.cancels());
  }

  @Test
  void anotherExecutionOfARunningTaskIsRejectedNotStarted() throws Exception {
    h.deploy();
    cp.send(assignment("t1", "ex-1"));
    Waits.until(() -> backend.isRunning("t1"), WAIT, () -> "not started");
    cp.send(assignment("t1", "ex-2"));
    assertEquals("task already running here as execution \"ex-1\"",
        cp.awaitMessage("task_rejected", "t1", WAIT).getJsonObject("data").getString("reason"));
    assertEquals(1, backend.executed().size());
  }

  @Test
  void assignmentsDuringShutdownAreRejectedWithTheGoReason() throws Exception {
    h.options().setShutdownGracePeriod(Duration.ofSeconds(30));
    h.deploy();
    cp.send(Assignments.minimal("t1"));
    Waits.until(() -> backend.isRunning("t1"), WAIT, () -> "not started");
    try (LogCapture logs = LogCapture.of("dev.oz.worker")) {
      var undeploying = h.undeployAsync();
      // the shutdown has reached the lifecycle before the late assignment is sent, not merely been asked for
      Waits.until(() -> logs.contains("Shutting down: 1 task(s) running"), WAIT, () -> "shutdown never began");
      cp.send(Assignments.minimal("late"));
      assertEquals(new JsonObject().put("task_id", "late").put("reason", "worker is shutting down"),
          cp.awaitMessage("task_rejected", "late", WAIT).getJsonObject("data"));
      backend.complete("t1", TaskOutcome.succeeded());
      undeploying.await(10, TimeUnit.SECONDS);
    }
    assertEquals(List.of("task_rejected"), types("late"));
  }

  @Test
  void oneShotWorkerTakesOneTaskRejectsTheRestAndFinishesAfterItsReport() throws Exception {
    backend.setCapabilities(BackendCapabilities.local(Duration.ofSeconds(1)).withOneShot());
    h.options().setOneShot(true).setMaxConcurrentTasks(5);
    h.deploy();
    cp.send(Assignments.minimal("first"));
    cp.awaitMessage("task_claimed", "first", WAIT);
    cp.send(Assignments.minimal("second"));
    assertEquals("one-shot worker has already accepted a task",
        cp.awaitMessage("task_rejected", "second", WAIT).getJsonObject("data").getString("reason"));
    assertTrue(!h.worker().finished().isComplete());
    backend.complete("first", TaskOutcome.succeeded());
    cp.awaitMessage("task_completed", "first", WAIT);
    h.worker().finished().await(10, TimeUnit.SECONDS);
  }

  @Test
  void oneShotIsRefusedAtStartByABackendWithoutIt() {
    h.options().setOneShot(true);
    try {
      h.deployAsync().await(10, TimeUnit.SECONDS);
      throw new AssertionError("deployed");
    } catch (Exception e) {
      assertEquals("backend \"fake\" does not support one-shot mode", e.getMessage());
    }
  }

  @Test
  void aTaskRunningPastTaskTimeoutIsStoppedAndReportedAsTimedOut() throws Exception {
    h.options().setTaskTimeout(Duration.ofMillis(300));
    h.deploy();
    cp.send(assignment("slow", "ex-1"));
    cp.send(Assignments.minimal("quick"));
    Waits.until(() -> backend.isRunning("quick"), WAIT, () -> "not started");
    backend.complete("quick", TaskOutcome.succeeded());
    assertEquals(new JsonObject().put("task_id", "slow").put("execution_id", "ex-1")
            .put("message", "Failed to execute task: the task ran longer than its time limit (task_timeout 300ms) and was stopped")
            .put("failure_reason", "task_timeout"),
        cp.awaitMessage("task_failed", "slow", WAIT).getJsonObject("data"));
    assertEquals(List.of("slow:TIMEOUT"), backend.cancels(), "stopped through the backend like a cancellation");
    assertEquals("task_completed", cp.awaitMessage("task_completed", "quick", WAIT).getString("type"),
        "a task that ends in time is not touched");
  }
}
