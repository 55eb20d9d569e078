package dev.oz.worker.protocol;

/** {@code task_claimed}: sent before a task starts executing. */
public record TaskClaimed(String taskId, String workerId) implements WorkerMessage {
  @Override
  public String type() {
    return "task_claimed";
  }
}
