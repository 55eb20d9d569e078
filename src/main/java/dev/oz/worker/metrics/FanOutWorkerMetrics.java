package dev.oz.worker.metrics;

import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/** {@link WorkerMetrics#fanOut}: the Prometheus catalog and the OTLP one see the same measurements. */
final class FanOutWorkerMetrics implements WorkerMetrics {
  private final List<WorkerMetrics> targets;

  FanOutWorkerMetrics(List<WorkerMetrics> targets) {
    this.targets = List.copyOf(targets);
  }

  private void each(Consumer<WorkerMetrics> call) {
    for (WorkerMetrics m : targets) {
      call.accept(m);
    }
  }

  @Override
  public void connected(boolean connected) {
    each(m -> m.connected(connected));
  }

  @Override
  public void reconnect(String reason) {
    each(m -> m.reconnect(reason));
  }

  @Override
  public void taskClaimed() {
    each(WorkerMetrics::taskClaimed);
  }

  @Override
  public void taskRejected(String reason) {
    each(m -> m.taskRejected(reason));
  }

  @Override
  public void tasksActive(int active) {
    each(m -> m.tasksActive(active));
  }

  @Override
  public void taskEnded(String result, Duration duration) {
    each(m -> m.taskEnded(result, duration));
  }

  @Override
  public void taskFailure(String phase, String reason) {
    each(m -> m.taskFailure(phase, reason));
  }

  @Override
  public void logBytesSent(long bytes) {
    each(m -> m.logBytesSent(bytes));
  }

  @Override
  public void logBytesDropped(long bytes) {
    each(m -> m.logBytesDropped(bytes));
  }

  @Override
  public void taskLogRecordsDropped(long records) {
    each(m -> m.taskLogRecordsDropped(records));
  }

  @Override
  public void backendAvailable(boolean available) {
    each(m -> m.backendAvailable(available));
  }

  @Override
  public void backendOutage() {
    each(WorkerMetrics::backendOutage);
  }
}
