package dev.oz.worker.docker;

import static dev.oz.worker.testing.WorkerHarness.scriptTask;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.model.Container;
import dev.oz.worker.bus.Addresses;
import dev.oz.worker.protocol.WorkerMessage;
import dev.oz.worker.testing.Engine;
import dev.oz.worker.testing.LogCapture;
import dev.oz.worker.testing.Waits;
import dev.oz.worker.testing.WorkerHarness;
import io.vertx.core.eventbus.DeliveryContext;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** A task's container is removed once its terminal report is handed on, never before; and never left behind. */
class ContainerRemovalIT {
  private static final String FALLBACK = "no word of its report";

  private static List<Container> containersOf(WorkerHarness h, String taskId) {
    return Engine.containersOf(h.workerId()).stream()
        .filter(c -> taskId.equals(c.getLabels().get("oz.task.id"))).toList();
  }

  @Test
  void theContainerIsRemovedOnlyOnceItsReportIsHandedOn() {
    try (LogCapture logs = LogCapture.of("dev.oz.worker.docker");
         WorkerHarness h = WorkerHarness.start(o -> { })) {
      List<DeliveryContext<Object>> held = new CopyOnWriteArrayList<>();
      h.vertx.eventBus().addOutboundInterceptor(ctx -> {
        if (ctx.message().address().endsWith("." + Addresses.OUTBOUND)
            && ctx.message().body() instanceof WorkerMessage m && m.terminal() && "first".equals(m.taskId())) {
          held.add(ctx); // the report waits on its way to the connection
        } else {
          ctx.next();
        }
      });
      h.assign(scriptTask("first", "true"));
      Waits.until(() -> !held.isEmpty(), WorkerHarness.TASK_TIMEOUT, () -> "the report never came");

      // meanwhile a whole task runs, is reported and has its container removed
      assertEquals("task_completed", h.run(scriptTask("probe", "true")).getString("type"));
      Waits.until(() -> containersOf(h, "probe").isEmpty(), Duration.ofSeconds(20), () -> "probe's container left");
      assertFalse(logs.contains(FALLBACK), "the probe took longer than the removal's bound: " + logs.all());
      assertEquals(1, containersOf(h, "first").size(), "removed while its report was held");
      assertTrue(h.cp.received("task_completed").stream()
          .noneMatch(m -> "first".equals(m.getJsonObject("data").getString("task_id"))));

      held.forEach(DeliveryContext::next);
      assertEquals("task_completed", h.awaitTerminal("first", WorkerHarness.WAIT).getString("type"));
      Waits.until(() -> containersOf(h, "first").isEmpty(), Duration.ofSeconds(20), () -> "container left");
      assertFalse(logs.contains(FALLBACK), "removed on the report, not on the bound: " + logs.all());
    }
  }

  @Test
  void withoutWordOfTheReportTheContainerIsRemovedAnyway() {
    try (LogCapture logs = LogCapture.of("dev.oz.worker.docker");
         WorkerHarness h = WorkerHarness.start(o -> { })) {
      // the backend never hears that the report went out (a lifecycle that failed to say so)
      h.vertx.eventBus().addOutboundInterceptor(ctx -> {
        if (!ctx.message().address().endsWith("." + Addresses.REPORTED)) {
          ctx.next();
        }
      });
      assertEquals("task_completed", h.run(scriptTask("unsaid", "true")).getString("type"));
      Waits.until(() -> containersOf(h, "unsaid").isEmpty(), Duration.ofSeconds(30), () -> "container left");
      assertTrue(logs.contains("Task unsaid: " + FALLBACK + " " + ContainerRun.REPORT_WAIT_MS
          + " ms after its end; removing container"), logs.all());
    }
  }
}
