package dev.oz.worker.logs;

import dev.oz.worker.hosted.HostedTask;
import java.util.List;

/**
 * Lifecycle -> log streaming: a task starts; the reply is its {@link dev.oz.worker.backend.TaskOutput}.
 *
 * @param positionsKnown the output starts at the first byte of each stream, so chunks carry their {@code offset};
 *     false for output that resumes mid-stream at an unknown position
 * @param hosted what shipping the task's logs and posting its setup events need; null for neither (an adopted task)
 */
public record OpenTaskLog(String taskId, String executionId, List<String> secrets, boolean positionsKnown, HostedTask hosted) {

  public OpenTaskLog(String taskId, String executionId, List<String> secrets) {
    this(taskId, executionId, secrets, true, null);
  }

  public OpenTaskLog(String taskId, String executionId, List<String> secrets, HostedTask hosted) {
    this(taskId, executionId, secrets, true, hosted);
  }

  @Override
  public String toString() {
    return "OpenTaskLog[taskId=" + taskId + ", secrets=" + secrets.size() + ", positionsKnown=" + positionsKnown + ", hosted=" + hosted + "]";
  }
}
