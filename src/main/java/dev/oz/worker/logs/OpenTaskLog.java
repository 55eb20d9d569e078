package dev.oz.worker.logs;

import java.util.List;

/**
 * Lifecycle -> log streaming: a task starts; the reply is its {@link TaskOutput}.
 *
 * @param positionsKnown the output starts at the first byte of each stream, so chunks carry their {@code offset};
 *     false for output that resumes mid-stream at an unknown position
 */
public record OpenTaskLog(String taskId, String executionId, List<String> secrets, boolean positionsKnown) {

  public OpenTaskLog(String taskId, String executionId, List<String> secrets) {
    this(taskId, executionId, secrets, true);
  }

  @Override
  public String toString() {
    return "OpenTaskLog[taskId=" + taskId + ", secrets=" + secrets.size() + "]";
  }
}
