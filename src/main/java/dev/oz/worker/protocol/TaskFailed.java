package dev.oz.worker.protocol;

import com.fasterxml.jackson.annotation.JsonTypeName;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * {@code task_failed}: {@code message} is "Failed to execute task: cause"; {@code exitCode} 0 means none.
 * {@code failureDetails} is the newer Go worker's backend diagnostics ({@code {"kubernetes": {...}}}), passed
 * through as JSON.
 */
@JsonTypeName("task_failed")
public record TaskFailed(String taskId, @OmitEmpty String executionId, String message, @OmitEmpty String failureReason,
    @OmitEmpty int exitCode, @OmitNull ObjectNode failureDetails) implements WorkerMessage {

  public static final String MESSAGE_PREFIX = "Failed to execute task: ";

  @Override
  public boolean terminal() {
    return true;
  }
}
