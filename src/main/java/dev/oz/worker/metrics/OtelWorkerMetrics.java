package dev.oz.worker.metrics;

import dev.oz.worker.protocol.FailureReason;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.LongGauge;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.metrics.ObservableLongUpDownCounter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The metric catalog as OpenTelemetry instruments, for OTLP: the Go worker's instrument names, kinds, units,
 * attributes and histogram boundaries, so a collector receives from this worker what it received from the
 * Go one (and its Prometheus exporter produces the names {@code /metrics} shows). Every attribute set is
 * recorded with 0 at creation, as the Go worker primes its instruments; the duration histogram is not, a
 * synthetic observation would distort it.
 */
final class OtelWorkerMetrics implements WorkerMetrics {
  /** The OpenTelemetry SDK's default explicit boundaries, which the Go worker's histogram uses, in seconds. */
  static final List<Double> DURATION_BOUNDARIES =
      List.of(0d, 5d, 10d, 25d, 50d, 75d, 100d, 250d, 500d, 750d, 1000d, 2500d, 5000d, 7500d, 10000d);
  private static final AttributeKey<String> REASON = AttributeKey.stringKey("reason");
  private static final AttributeKey<String> RESULT = AttributeKey.stringKey("result");
  private static final AttributeKey<String> PHASE = AttributeKey.stringKey("phase");

  private final LongGauge connected;
  private final AtomicInteger active = new AtomicInteger();
  private final ObservableLongUpDownCounter activeObserver;
  private final LongCounter claimed;
  private final LongCounter rejected;
  private final LongCounter completed;
  private final DoubleHistogram duration;
  private final LongCounter failures;
  private final LongCounter reconnects;
  private final LongCounter logBytesSent;
  private final LongCounter logBytesDropped;
  private final LongCounter taskLogRecordsDropped;
  private final LongGauge backendAvailable;
  private final LongCounter backendOutages;

  OtelWorkerMetrics(Meter meter, String workerId, String backend, String version, int maxConcurrentTasks) {
    connected = meter.gaugeBuilder("oz_worker_connected").ofLongs()
        .setDescription("1 while connected to the control plane").build();
    // an up-down counter, as in the Go worker; observed from the count the lifecycle reports
    activeObserver = meter.upDownCounterBuilder("oz_worker_tasks_active")
        .setDescription("Tasks claimed and not yet reported").buildWithCallback(m -> m.record(active.get()));
    LongGauge maxConcurrent = meter.gaugeBuilder("oz_worker_tasks_max_concurrent").ofLongs()
        .setDescription("Configured concurrency limit (0 = unlimited)").build();
    LongGauge info = meter.gaugeBuilder("oz_worker_info").ofLongs()
        .setDescription("Worker build and identity").build();
    claimed = meter.counterBuilder("oz_worker_tasks_claimed_total").setDescription("Tasks claimed").build();
    rejected = meter.counterBuilder("oz_worker_tasks_rejected_total").setDescription("Assignments rejected").build();
    completed = meter.counterBuilder("oz_worker_tasks_completed_total").setDescription("Tasks ended, by result").build();
    duration = meter.histogramBuilder("oz_worker_task_duration_seconds").setUnit("s")
        .setDescription("Task duration from claim to terminal report")
        .setExplicitBucketBoundariesAdvice(DURATION_BOUNDARIES).build();
    failures = meter.counterBuilder("oz_worker_task_failures_total")
        .setDescription("Task failures by phase and reason").build();
    reconnects = meter.counterBuilder("oz_worker_websocket_reconnects_total")
        .setDescription("Control-plane reconnects, by cause").build();
    logBytesSent = meter.counterBuilder("oz_worker_log_stream_sent_bytes_total")
        .setDescription("Task output bytes streamed to the control plane").build();
    logBytesDropped = meter.counterBuilder("oz_worker_log_stream_dropped_bytes_total")
        .setDescription("Task output bytes dropped (announced with dropped_bytes)").build();
    taskLogRecordsDropped = meter.counterBuilder("oz_worker_task_log_records_dropped_total")
        .setDescription("Task log records that did not reach the task's OTLP collector").build();
    backendAvailable = meter.gaugeBuilder("oz_worker_backend_available").ofLongs()
        .setDescription("1 while the backend can run tasks (its engine answers)").build();
    backendOutages = meter.counterBuilder("oz_worker_backend_outages_total")
        .setDescription("Times the backend became unavailable (e.g. its engine stopped answering)").build();

    connected.set(0);
    backendAvailable.set(1);
    backendOutages.add(0);
    maxConcurrent.set(maxConcurrentTasks);
    info.set(1, Attributes.of(AttributeKey.stringKey("version"), version, AttributeKey.stringKey("backend"), backend,
        AttributeKey.stringKey("worker_id"), workerId));
    claimed.add(0);
    logBytesSent.add(0);
    logBytesDropped.add(0);
    taskLogRecordsDropped.add(0);
    for (String reason : REJECT_REASONS) {
      rejected.add(0, Attributes.of(REASON, reason));
    }
    for (String result : RESULTS) {
      completed.add(0, Attributes.of(RESULT, result));
    }
    for (String phase : FAILURE_PHASES) {
      for (FailureReason reason : FailureReason.values()) {
        failures.add(0, Attributes.of(PHASE, phase, REASON, reason.wireName()));
      }
    }
    for (String reason : RECONNECT_REASONS) {
      reconnects.add(0, Attributes.of(REASON, reason));
    }
  }

  /** Stops observing the active-task count (the meter provider's shutdown does the rest). */
  void close() {
    activeObserver.close();
  }

  @Override
  public void connected(boolean isConnected) {
    connected.set(isConnected ? 1 : 0);
  }

  @Override
  public void reconnect(String reason) {
    reconnects.add(1, Attributes.of(REASON, reason));
  }

  @Override
  public void taskClaimed() {
    claimed.add(1);
  }

  @Override
  public void taskRejected(String reason) {
    rejected.add(1, Attributes.of(REASON, reason));
  }

  @Override
  public void tasksActive(int count) {
    active.set(count);
  }

  @Override
  public void taskEnded(String result, Duration took) {
    Attributes attributes = Attributes.of(RESULT, result);
    completed.add(1, attributes);
    duration.record(took.toNanos() / 1e9, attributes);
  }

  @Override
  public void taskFailure(String phase, String reason) {
    failures.add(1, Attributes.of(PHASE, phase, REASON, reason));
  }

  @Override
  public void logBytesSent(long bytes) {
    logBytesSent.add(bytes);
  }

  @Override
  public void logBytesDropped(long bytes) {
    logBytesDropped.add(bytes);
  }

  @Override
  public void taskLogRecordsDropped(long records) {
    taskLogRecordsDropped.add(records);
  }

  @Override
  public void backendAvailable(boolean available) {
    backendAvailable.set(available ? 1 : 0);
  }

  @Override
  public void backendOutage() {
    backendOutages.add(1);
  }
}
