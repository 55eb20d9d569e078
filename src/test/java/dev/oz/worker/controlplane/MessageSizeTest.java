package dev.oz.worker.controlplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.testing.Assignments;
import dev.oz.worker.testing.FakeBackend;
import dev.oz.worker.testing.LogCapture;
import dev.oz.worker.testing.LoopbackControlPlane;
import dev.oz.worker.testing.WorkerHarness;
import dev.oz.worker.testing.Waits;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Messages up to connection.max_message_bytes are accepted however they are framed; larger ones close with 1009. */
class MessageSizeTest {
  private static final Duration WAIT = Duration.ofSeconds(15);

  @Test
  void bigSingleFrameAssignmentIsAcceptedAndAnOversizedOneClosesWith1009() throws Exception {
    try (WorkerHarness h = WorkerHarness.create(new FakeBackend()); LogCapture logs = LogCapture.of("dev.oz.worker")) {
      LoopbackControlPlane cp = h.cp;
      h.options().getConnection().setMaxMessageBytes(4 * 1024 * 1024);
      h.deploy();

      JsonObject big = Assignments.data("big");
      big.getJsonObject("task").getJsonObject("task_definition").put("prompt", "p".repeat(2 * 1024 * 1024));
      cp.sendSingleFrame(Assignments.envelope("task_assignment", big)); // one 2 MiB frame
      cp.awaitMessage("task_claimed", "big", WAIT);

      JsonObject huge = Assignments.data("huge");
      huge.getJsonObject("task").getJsonObject("task_definition").put("prompt", "p".repeat(5 * 1024 * 1024));
      cp.sendFragmented(Assignments.envelope("task_assignment", huge), 1024 * 1024);
      Waits.until(() -> cp.closeCodes().contains((short) 1009), WAIT, () -> "close codes " + cp.closeCodes());
      Waits.until(() -> logs.contains("A message from the control plane of at least")
          && logs.contains("bytes is larger than connection.max_message_bytes (4194304); closing the connection with 1009"),
          WAIT, logs::all);
      cp.awaitConnections(2, WAIT);
      cp.sendSingleFrame(Assignments.envelope("task_assignment", huge)); // one 5 MiB frame
      Waits.until(() -> cp.closeCodes().stream().filter(c -> c == 1009).count() == 2, WAIT, () -> "close codes " + cp.closeCodes());
      cp.awaitConnections(3, WAIT);
      cp.send(Assignments.minimal("after"));
      cp.awaitMessage("task_claimed", "after", WAIT);
      assertTrue(cp.received("task_claimed").stream().noneMatch(m -> "huge".equals(m.getJsonObject("data").getString("task_id"))));
      h.undeploy();
      assertEquals(3, cp.handshakes().size());
    }
  }
}
