package dev.oz.worker.backend;

import java.util.List;

/**
 * A task an earlier process of this worker started and that still belongs to it (a Kubernetes Job that outlived a
 * worker restart): the lifecycle claims it again and the backend follows it to its end ({@link TaskBackend#resume}).
 *
 * @param secrets values to redact from its output (the task's own environment values)
 */
public record AdoptedTask(String taskId, String executionId, String title, List<String> secrets) {

  public AdoptedTask {
    secrets = List.copyOf(secrets);
  }

  @Override
  public String toString() {
    return "AdoptedTask[taskId=" + taskId + ", executionId=" + executionId + "]";
  }
}
