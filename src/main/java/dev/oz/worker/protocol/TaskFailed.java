package dev.oz.worker.protocol;

/** {@code task_failed}: {@code message} is "Failed to execute task: cause"; {@code exitCode} 0 means none. */
public record TaskFailed(String taskId, String executionId, String message, String failureReason, int exitCode)
    implements WorkerMessage {

  public static final String MESSAGE_PREFIX = "Failed to execute task: ";

  @Override
  public String type() {
    return "task_failed";
  }

  @Override
  public boolean terminal() {
    return true;
  }
}
