package dev.oz.worker.protocol;

/** A message from the control plane to the worker. */
public sealed interface ServerMessage permits TaskAssignment, TaskCancellation {
  String taskId();
}
