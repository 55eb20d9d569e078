package dev.oz.worker.backend;

import dev.oz.worker.protocol.FailureReason;
import io.vertx.core.json.JsonObject;

import dev.oz.worker.protocol.FailureReason;

/**
 * How a task ended, as a backend reports it; the lifecycle maps it onto {@code task_completed} or
 * {@code task_failed}.
 *
 * @param cause for failures, the human-readable cause (the report says "Failed to execute task: cause")
 * @param exitCode the container's exit code, 0 when there is none
 * @param failureDetails for failures, the backend's structured diagnostics (the protocol's {@code failure_details},
 *     e.g. {@code {"kubernetes": {...}}}); null when there are none
 */
public record TaskOutcome(Status status, String cause, FailureReason reason, int exitCode, JsonObject failureDetails) {

  public TaskOutcome(Status status, String cause, FailureReason reason, int exitCode) {
    this(status, cause, reason, exitCode, null);
  }

  public enum Status {
    SUCCEEDED,
    FAILED,
    CANCELLED,
    /** Handed to another system, which reports to the control plane itself (the Go worker's "spawned"). */
    DISPATCHED
  }

  public static TaskOutcome succeeded() {
    return new TaskOutcome(Status.SUCCEEDED, null, null, 0);
  }

  public static TaskOutcome dispatched() {
    return new TaskOutcome(Status.DISPATCHED, null, null, 0);
  }

  public static TaskOutcome cancelled() {
    return new TaskOutcome(Status.CANCELLED, "cancelled", FailureReason.TASK_CANCELLED, 0);
  }

  public static TaskOutcome failed(FailureReason reason, String cause) {
    return new TaskOutcome(Status.FAILED, cause, reason, 0);
  }

  public static TaskOutcome failed(FailureReason reason, String cause, int exitCode) {
    return new TaskOutcome(Status.FAILED, cause, reason, exitCode);
  }

  /** A failure with structured details for {@code task_failed.failure_details}. */
  public static TaskOutcome failed(FailureReason reason, String cause, int exitCode, JsonObject failureDetails) {
    return new TaskOutcome(Status.FAILED, cause, reason, exitCode, failureDetails);
  }
}
