package dev.oz.worker.metrics;

import dev.oz.worker.protocol.FailureReason;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.core.metrics.Info;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The Go worker's metric catalog on Micrometer: same names, types and labels, so dashboards and alerts keep
 * working. Every labelled series is registered with 0 at start-up.
 */
public final class MicrometerWorkerMetrics implements WorkerMetrics {
  /** The OpenTelemetry SDK's default histogram boundaries (the Go worker's), in seconds. */
  static final double[] DURATION_BUCKETS = {5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000};

  private final MeterRegistry registry;
  private Info info;
  private final AtomicInteger connected = new AtomicInteger();
  private final AtomicInteger active = new AtomicInteger();
  private final AtomicInteger backendAvailable = new AtomicInteger(1);
  private final Counter backendOutages;
  private final Counter claimed;
  private final Counter logBytesSent;
  private final Counter logBytesDropped;
  private final Counter taskLogRecordsDropped;
  private final Map<String, Counter> rejected = new ConcurrentHashMap<>();
  private final Map<String, Counter> completed = new ConcurrentHashMap<>();
  private final Map<String, Timer> durations = new ConcurrentHashMap<>();
  private final Map<String, Counter> failures = new ConcurrentHashMap<>();
  private final Map<String, Counter> reconnects = new ConcurrentHashMap<>();

  public MicrometerWorkerMetrics(MeterRegistry registry, String workerId, String backend, String version,
      int maxConcurrentTasks) {
    this.registry = registry;
    if (registry.find("oz_worker_connected").gauge() != null) {
      // the catalog has no worker label: two workers in one registry would overwrite each other
      throw new IllegalStateException("this meter registry already holds a worker's metrics; give each worker its own");
    }
    Gauge.builder("oz_worker_connected", connected, AtomicInteger::get)
        .description("1 while connected to the control plane").register(registry);
    Gauge.builder("oz_worker_tasks_active", active, AtomicInteger::get)
        .description("Tasks claimed and not yet reported").register(registry);
    Gauge.builder("oz_worker_tasks_max_concurrent", () -> maxConcurrentTasks)
        .description("Configured concurrency limit (0 = unlimited)").register(registry);
    Gauge.builder("oz_worker_backend_available", backendAvailable, AtomicInteger::get)
        .description("1 while the backend can run tasks (its engine answers)").register(registry);
    registerInfo(version, backend, workerId);
    claimed = Counter.builder("oz_worker_tasks_claimed").description("Tasks claimed").register(registry);
    logBytesSent = Counter.builder("oz_worker_log_stream_sent_bytes")
        .description("Task output bytes streamed to the control plane").register(registry);
    logBytesDropped = Counter.builder("oz_worker_log_stream_dropped_bytes")
        .description("Task output bytes dropped (announced with dropped_bytes)").register(registry);
    taskLogRecordsDropped = Counter.builder("oz_worker_task_log_records_dropped")
        .description("Task log records that did not reach the task's OTLP collector").register(registry);
    backendOutages = Counter.builder("oz_worker_backend_outages")
        .description("Times the backend became unavailable (e.g. its engine stopped answering)").register(registry);
    for (String reason : REJECT_REASONS) {
      rejected(reason);
    }
    for (String result : RESULTS) {
      completed(result);
      duration(result);
    }
    for (String phase : FAILURE_PHASES) {
      for (FailureReason reason : FailureReason.values()) {
        failure(phase, reason.wireName());
      }
    }
    for (String reason : RECONNECT_REASONS) {
      reconnects(reason);
    }
  }

  /**
   * {@code oz_worker_info} must be a Prometheus info metric: Micrometer would strip the {@code _info} suffix of
   * a gauge, so it goes straight into the Prometheus registry underneath.
   */
  private void registerInfo(String version, String backend, String workerId) {
    if (registry instanceof PrometheusMeterRegistry prometheus) {
      Info i = Info.builder().name("oz_worker_info").help("Worker build and identity")
          .labelNames("version", "backend", "worker_id").build();
      i.addLabelValues(version, backend, workerId);
      try {
        prometheus.getPrometheusRegistry().register(i);
        info = i;
      } catch (IllegalArgumentException e) {
        // another worker in this JVM shares the registry and registered it first
      }
    }
  }

  /** Removes this worker's meters, so an undeployed worker leaves nothing behind in a shared registry. */
  public void close() {
    for (Meter m : registry.getMeters()) {
      if (m.getId().getName().startsWith("oz_worker_")) {
        registry.remove(m);
      }
    }
    if (info != null) {
      ((PrometheusMeterRegistry) registry).getPrometheusRegistry().unregister(info);
      info = null;
    }
  }

  private Counter rejected(String reason) {
    return rejected.computeIfAbsent(reason, r -> Counter.builder("oz_worker_tasks_rejected").tags("reason", r)
        .description("Assignments rejected").register(registry));
  }

  private Counter completed(String result) {
    return completed.computeIfAbsent(result, r -> Counter.builder("oz_worker_tasks_completed").tags("result", r)
        .description("Tasks ended, by result").register(registry));
  }

  private Timer duration(String result) {
    return durations.computeIfAbsent(result, r -> Timer.builder("oz_worker_task_duration").tags("result", r)
        .description("Task duration from claim to terminal report")
        .serviceLevelObjectives(java.util.Arrays.stream(DURATION_BUCKETS)
            .mapToObj(s -> Duration.ofMillis((long) (s * 1000))).toArray(Duration[]::new))
        .register(registry));
  }

  private Counter failure(String phase, String reason) {
    return failures.computeIfAbsent(phase + "/" + reason, k -> Counter.builder("oz_worker_task_failures")
        .tags(Tags.of("phase", phase, "reason", reason)).description("Task failures by phase and reason")
        .register(registry));
  }

  private Counter reconnects(String reason) {
    return reconnects.computeIfAbsent(reason, r -> Counter.builder("oz_worker_websocket_reconnects").tags("reason", r)
        .description("Control-plane reconnects, by cause").register(registry));
  }

  @Override
  public void connected(boolean isConnected) {
    connected.set(isConnected ? 1 : 0);
  }

  @Override
  public void reconnect(String reason) {
    reconnects(reason).increment();
  }

  @Override
  public void taskClaimed() {
    claimed.increment();
  }

  @Override
  public void taskRejected(String reason) {
    rejected(reason).increment();
  }

  @Override
  public void tasksActive(int count) {
    active.set(count);
  }

  @Override
  public void taskEnded(String result, Duration duration) {
    completed(result).increment();
    duration(result).record(duration);
  }

  @Override
  public void taskFailure(String phase, String reason) {
    failure(phase, reason).increment();
  }

  @Override
  public void logBytesSent(long bytes) {
    logBytesSent.increment(bytes);
  }

  @Override
  public void logBytesDropped(long bytes) {
    logBytesDropped.increment(bytes);
  }

  @Override
  public void taskLogRecordsDropped(long records) {
    taskLogRecordsDropped.increment(records);
  }

  @Override
  public void backendAvailable(boolean available) {
    backendAvailable.set(available ? 1 : 0);
  }

  @Override
  public void backendOutage() {
    backendOutages.increment();
  }
}
