package dev.oz.worker.protocol;

/** {@code task_rejected}: the worker will not run this task; no claim was sent. */
public record TaskRejected(String taskId, String reason) implements WorkerMessage {
  public static final String AT_CAPACITY = "worker at maximum concurrency";
  public static final String SHUTTING_DOWN = "worker shutting down";

  @Override
  public String type() {
    return "task_rejected";
  }
}
