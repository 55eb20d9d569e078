package dev.oz.worker.protocol;

/** A message from the control plane to the worker. */
public sealed interface ServerMessage extends ProtocolMessage permits TaskAssignment, TaskCancellation {
}
