package dev.oz.worker.metrics;

import java.time.Duration;
import java.util.List;

/**
 * What the worker measures, under the Go worker's metric names: {@link MicrometerWorkerMetrics} serves it on
 * {@code /metrics}, {@link OtelWorkerMetrics} pushes it over OTLP; {@link #fanOut} feeds both.
 */
public interface WorkerMetrics {

  WorkerMetrics NOOP = new WorkerMetrics() {
  };

  /**
   * The instrumentation scope of the worker's metrics and spans: the Go worker's, since Prometheus and
   * collectors turn it into the {@code otel_scope_name} label that dashboards select on.
   */
  String SCOPE = "github.com/warpdotdev/oz-agent-worker";

  /** Reconnect reasons (label {@code reason}). */
  String DIAL_FAILED = "dial_failed";
  String REMOTE_CLOSE = "remote_close";
  List<String> RECONNECT_REASONS = List.of(DIAL_FAILED, REMOTE_CLOSE);

  /** Rejection reasons (label {@code reason}). */
  String AT_CAPACITY = "at_capacity";
  String SHUTTING_DOWN = "shutting_down";
  String ONE_SHOT_COMPLETE = "one_shot_complete";
  /** The backend cannot run tasks now (e.g. its Docker engine is away); ours, not the Go worker's. */
  String BACKEND_UNAVAILABLE = "backend_unavailable";
  List<String> REJECT_REASONS = List.of(AT_CAPACITY, SHUTTING_DOWN, ONE_SHOT_COMPLETE, BACKEND_UNAVAILABLE);

  /** Task results (label {@code result}); {@code dispatched} is the Go worker's hand-off to a remote runtime. */
  String SUCCEEDED = "succeeded";
  String FAILED = "failed";
  String CANCELLED = "cancelled";
  String DISPATCHED = "dispatched";
  List<String> RESULTS = List.of(SUCCEEDED, FAILED, CANCELLED, DISPATCHED);

  /** Failure phases (label {@code phase}). */
  String PHASE_ASSIGNMENT = "assignment";
  String PHASE_BACKEND = "backend";
  String PHASE_CLEANUP = "cleanup";
  List<String> FAILURE_PHASES = List.of(PHASE_ASSIGNMENT, PHASE_BACKEND, PHASE_CLEANUP);

  /** Every measurement goes to each of {@code targets}, in order. */
  static WorkerMetrics fanOut(List<WorkerMetrics> targets) {
    List<WorkerMetrics> all = targets.stream().filter(m -> m != NOOP).toList();
    if (all.isEmpty()) {
      return NOOP;
    }
    return all.size() == 1 ? all.get(0) : new FanOutWorkerMetrics(all);
  }

  default void connected(boolean connected) {
  }

  default void reconnect(String reason) {
  }

  default void taskClaimed() {
  }

  default void taskRejected(String reason) {
  }

  default void tasksActive(int active) {
  }

  default void taskEnded(String result, Duration duration) {
  }

  default void taskFailure(String phase, String reason) {
  }

  default void logBytesSent(long bytes) {
  }

  default void logBytesDropped(long bytes) {
  }

  /** Task log records that never reached the task's OTLP collector (queue full, or not out by the final flush). */
  default void taskLogRecordsDropped(long records) {
  }

  /** {@code oz_worker_backend_available}: 1 while the backend can run tasks (its engine answers). */
  default void backendAvailable(boolean available) {
  }

  /** {@code oz_worker_backend_outages_total}: the backend became unavailable once more. */
  default void backendOutage() {
  }
}
