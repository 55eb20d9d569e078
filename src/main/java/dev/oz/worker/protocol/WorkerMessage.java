package dev.oz.worker.protocol;

/** A message from the worker to the control plane. */
public sealed interface WorkerMessage permits TaskClaimed, TaskRejected, TaskCompleted, TaskFailed, TaskLog {
  String taskId();

  /** The envelope's {@code type}. */
  String type();

  /** Whether this message ends the task on the control plane: it must never be dropped. */
  default boolean terminal() {
    return false;
  }
}
