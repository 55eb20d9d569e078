package dev.oz.worker.metrics;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Stands in for metrics that are still being set up (the OpenTelemetry SDK takes a second to load): what is measured
 * meanwhile is kept, in order, and replayed into the real metrics once {@link #attach} hands them over, so the worker
 * need not wait for the SDK before it connects. Counts and last values come out as if the SDK had been there from the
 * start. Any thread.
 */
public final class PendingWorkerMetrics implements WorkerMetrics {
  /** Far more than the first seconds of a worker produce; beyond it, measurements are dropped rather than kept. */
  static final int MAX_KEPT = 10_000;

  private final List<Consumer<WorkerMetrics>> kept = new ArrayList<>();
  private volatile WorkerMetrics target;
  private int dropped;

  /**
   * From now on measurements go to {@code metrics}, after the ones made so far. Returns how many were dropped for
   * being more than {@link #MAX_KEPT}.
   */
  public int attach(WorkerMetrics metrics) {
    synchronized (this) {
      kept.forEach(m -> m.accept(metrics));
      kept.clear();
      target = metrics;
      return dropped;
    }
  }

  private void record(Consumer<WorkerMetrics> measurement) {
    WorkerMetrics now = target;
    if (now == null) {
      synchronized (this) {
        now = target;
        if (now == null) {
          if (kept.size() < MAX_KEPT) {
            kept.add(measurement);
          } else {
            dropped++;
          }
          return;
        }
      }
    }
    measurement.accept(now);
  }

  @Override
  public void connected(boolean connected) {
    record(m -> m.connected(connected));
  }

  @Override
  public void reconnect(String reason) {
    record(m -> m.reconnect(reason));
  }

  @Override
  public void taskClaimed() {
    record(WorkerMetrics::taskClaimed);
  }

  @Override
  public void taskRejected(String reason) {
    record(m -> m.taskRejected(reason));
  }

  @Override
  public void tasksActive(int active) {
    record(m -> m.tasksActive(active));
  }

  @Override
  public void taskEnded(String result, Duration duration) {
    record(m -> m.taskEnded(result, duration));
  }

  @Override
  public void taskFailure(String phase, String reason) {
    record(m -> m.taskFailure(phase, reason));
  }

  @Override
  public void logBytesSent(long bytes) {
    record(m -> m.logBytesSent(bytes));
  }

  @Override
  public void logBytesDropped(long bytes) {
    record(m -> m.logBytesDropped(bytes));
  }

  @Override
  public void taskLogRecordsDropped(long records) {
    record(m -> m.taskLogRecordsDropped(records));
  }

  @Override
  public void backendAvailable(boolean available) {
    record(m -> m.backendAvailable(available));
  }

  @Override
  public void backendOutage() {
    record(WorkerMetrics::backendOutage);
  }
}
