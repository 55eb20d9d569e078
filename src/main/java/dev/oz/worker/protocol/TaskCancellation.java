package dev.oz.worker.protocol;

/** {@code task_cancellation}: the control plane asks the worker to stop a task. */
public record TaskCancellation(String taskId) implements ServerMessage {
}
