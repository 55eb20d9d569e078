package dev.oz.worker.metrics;

import java.time.Duration;

/** What the worker measures; {@link MicrometerWorkerMetrics} exports it with the Go worker's metric names. */
public interface WorkerMetrics {

  WorkerMetrics NOOP = new WorkerMetrics() {
  };

  /** Reconnect reasons (label {@code reason}). */
  String DIAL_FAILED = "dial_failed";
  String REMOTE_CLOSE = "remote_close";

  /** Rejection reasons (label {@code reason}). */
  String AT_CAPACITY = "at_capacity";
  String SHUTTING_DOWN = "shutting_down";
  String ONE_SHOT_COMPLETE = "one_shot_complete";

  /** Task results (label {@code result}). */
  String SUCCEEDED = "succeeded";
  String FAILED = "failed";
  String CANCELLED = "cancelled";
  String DISPATCHED = "dispatched";

  /** Failure phases (label {@code phase}). */
  String PHASE_ASSIGNMENT = "assignment";
  String PHASE_BACKEND = "backend";
  String PHASE_CLEANUP = "cleanup";

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
}
