package dev.oz.worker.protocol;

/** A message from the worker to the control plane. */
public sealed interface WorkerMessage extends ProtocolMessage
    permits TaskClaimed, TaskRejected, TaskCompleted, TaskFailed, TaskLog, ExecutionClosed {

  /** Whether this message ends the task on the control plane: it must never be dropped. */
  default boolean terminal() {
    return false;
  }
}
