package dev.oz.worker.protocol;

import com.fasterxml.jackson.annotation.JsonTypeName;

/** {@code task_completed}: success, or (with {@code task_state} CANCELLED) a cancellation the server asked for. */
@JsonTypeName("task_completed")
public record TaskCompleted(String taskId, @OmitEmpty String executionId, String message, @OmitNull String taskState)
    implements WorkerMessage {
  public static final String SUCCESS_MESSAGE = "Task completed successfully";
  public static final String CANCELLED_MESSAGE = "Task cancelled by user request.";
  public static final String CANCELLED = "CANCELLED";

  public static TaskCompleted success(String taskId, String executionId) {
    return new TaskCompleted(taskId, executionId, SUCCESS_MESSAGE, null);
  }

  public static TaskCompleted cancelled(String taskId, String executionId) {
    return new TaskCompleted(taskId, executionId, CANCELLED_MESSAGE, CANCELLED);
  }

  @Override
  public boolean terminal() {
    return true;
  }
}
