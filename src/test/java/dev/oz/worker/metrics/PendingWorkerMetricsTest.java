package dev.oz.worker.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PendingWorkerMetricsTest {

  /** What reached the real metrics, in order. */
  private static final class Recorded implements WorkerMetrics {
    final List<String> calls = new ArrayList<>();

    @Override
    public void connected(boolean connected) {
      calls.add("connected " + connected);
    }

    @Override
    public void taskClaimed() {
      calls.add("claimed");
    }

    @Override
    public void taskEnded(String result, Duration duration) {
      calls.add("ended " + result + " " + duration.toMillis());
    }

    @Override
    public void logBytesSent(long bytes) {
      calls.add("sent " + bytes);
    }
  }

  @Test
  void whatWasMeasuredBeforeTheMetricsWereThereArrivesFirstAndInOrder() {
    PendingWorkerMetrics pending = new PendingWorkerMetrics();
    pending.connected(true);
    pending.taskClaimed();
    pending.logBytesSent(42);
    Recorded real = new Recorded();
    assertEquals(List.of(), real.calls);

    assertEquals(0, pending.attach(real));
    assertEquals(List.of("connected true", "claimed", "sent 42"), real.calls);

    pending.taskEnded(WorkerMetrics.SUCCEEDED, Duration.ofMillis(1500));
    assertEquals(List.of("connected true", "claimed", "sent 42", "ended succeeded 1500"), real.calls);
  }

  @Test
  void measurementsBeyondTheLimitAreDroppedAndCounted() {
    PendingWorkerMetrics pending = new PendingWorkerMetrics();
    for (int i = 0; i < PendingWorkerMetrics.MAX_KEPT + 3; i++) {
      pending.logBytesSent(1);
    }
    Recorded real = new Recorded();
    assertEquals(3, pending.attach(real));
    assertEquals(PendingWorkerMetrics.MAX_KEPT, real.calls.size());
  }
}
