package dev.oz.worker.hosted;

import dev.oz.worker.protocol.TaskAssignment;
import java.util.List;

/**
 * What a task's output capture needs of hosted Oz: the task's identity, the assignment's {@code telemetry_collection}
 * (null when it had none), and every value to redact from shipped records (the Go worker's list: all non-empty
 * assignment variables, the operator's task variables, the bootstrap token, the worker's key).
 */
public record HostedTask(TaskIdentity identity, TaskAssignment.TelemetryCollection telemetry, List<String> secrets) {
  public HostedTask {
    secrets = List.copyOf(secrets);
  }

  /** Whether the assignment asks for the task's logs (the operator's switch is checked by the caller). */
  public boolean loggingRequested() {
    return telemetry != null && telemetry.loggingEnabled();
  }

  @Override
  public String toString() {
    return "HostedTask[" + identity + ", logging=" + loggingRequested() + ", secrets=" + secrets.size() + "]";
  }
}
