package dev.oz.worker.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.backend.BackendCapabilities;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.bus.Addresses;
import dev.oz.worker.protocol.FailureReason;
import dev.oz.worker.protocol.WorkerMessage;
import dev.oz.worker.testing.Assignments;
import dev.oz.worker.testing.FakeBackend;
import dev.oz.worker.testing.LoopbackControlPlane;
import dev.oz.worker.testing.Waits;
import dev.oz.worker.testing.WorkerHarness;
import io.vertx.core.eventbus.DeliveryContext;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The backend hears that a task was reported ({@code TaskBackend.reported}) once its report is in the outbox. */
class ReportedToBackendTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private WorkerHarness h;
  private LoopbackControlPlane cp;
  private FakeBackend backend;

  @BeforeEach
  void setUp() {
    backend = new FakeBackend();
    h = WorkerHarness.create(backend);
    cp = h.cp;
  }

  @AfterEach
  void tearDown() {
    h.close();
  }

  @Test
  void theBackendHearsOfTheReportOnlyOnceTheConnectionHasIt() {
    h.deploy();
    // hold t1's terminal report on its way to the connection
    List<DeliveryContext<Object>> held = new CopyOnWriteArrayList<>();
    h.vertx.eventBus().addOutboundInterceptor(ctx -> {
      if (ctx.message().address().endsWith("." + Addresses.OUTBOUND)
          && ctx.message().body() instanceof WorkerMessage m && m.terminal() && "t1".equals(m.taskId())) {
        held.add(ctx);
      } else {
        ctx.next();
      }
    });
    cp.send(Assignments.minimal("t1"));
    backend.complete("t1", TaskOutcome.succeeded());
    Waits.until(() -> !held.isEmpty(), WAIT, () -> "the report never came");
    // the probe is started after t1 was reported: word sent to the backend with the report would be there before it
    cp.send(Assignments.minimal("probe"));
    Waits.until(() -> backend.isRunning("probe"), WAIT, () -> "probe not started");
    assertEquals(List.of(), backend.reported(), "not while the report is held");

    held.forEach(DeliveryContext::next);
    cp.awaitMessage("task_completed", "t1", WAIT);
    Waits.until(() -> backend.reported().equals(List.of("t1")), WAIT, () -> "reported " + backend.reported());
  }

  @Test
  void whileDisconnectedTheBackendHearsOfTheReportWithoutWaitingForTheReconnection() {
    h.deploy();
    cp.send(Assignments.minimal("t1"));
    Waits.until(() -> backend.isRunning("t1"), WAIT, () -> "task not started");
    cp.stop();
    backend.complete("t1", TaskOutcome.failed(FailureReason.CONTAINER_EXIT, "exited with status 3", 3));
    // the report waits in the outbox for the control plane, which is still away
    Waits.until(() -> backend.reported().equals(List.of("t1")), WAIT, () -> "reported " + backend.reported());
    assertTrue(cp.received("task_failed").isEmpty());

    cp.restart();
    assertEquals(3, cp.awaitMessage("task_failed", "t1", WAIT).getJsonObject("data").getInteger("exit_code"));
    assertEquals(List.of("t1"), backend.reported(), "once");
  }

  @Test
  void aDispatchedTaskIsReportedToTheBackendAfterItsLogIsFlushedWithNoReportOfOurs() {
    h.deploy();
    cp.send(Assignments.minimal("t-d"));
    backend.complete("t-d", TaskOutcome.dispatched());
    Waits.until(() -> backend.reported().equals(List.of("t-d")), WAIT, () -> "reported " + backend.reported());
    cp.send(Assignments.minimal("probe"));
    cp.awaitMessage("task_claimed", "probe", WAIT);
    assertEquals(List.of("task_claimed"), cp.received().stream()
        .filter(m -> "t-d".equals(m.getJsonObject("data").getString("task_id")))
        .map(m -> m.getString("type")).toList());
  }

  @Test
  void aOneShotWorkersBackendHearsOfTheReportBeforeItIsShutDown() throws Exception {
    backend.setCapabilities(BackendCapabilities.local(Duration.ofSeconds(1)).withOneShot());
    h.options().setOneShot(true);
    h.deploy();
    cp.send(Assignments.minimal("only"));
    backend.complete("only", TaskOutcome.succeeded());
    h.worker().finished().await(10, TimeUnit.SECONDS);
    h.undeploy(); // as Main does once a one-shot worker has finished
    assertTrue(backend.isShutDown());
    assertEquals(List.of("only"), backend.reported(), "the drain waits for the backend to hear of the report");
  }

  @Test
  void onShutdownTheBackendHearsOfTheReportsOfTheTasksItStopped() {
    h.deploy();
    cp.send(Assignments.minimal("t1"));
    cp.send(Assignments.minimal("t2"));
    Waits.until(() -> backend.isRunning("t1") && backend.isRunning("t2"), WAIT, () -> "tasks not started");
    h.undeploy();
    assertEquals(2, cp.received("task_failed").size());
    assertEquals(List.of("t1", "t2"), backend.reported().stream().sorted().toList());
  }
}
