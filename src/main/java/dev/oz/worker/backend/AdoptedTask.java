package dev.oz.worker.backend;

import java.util.List;

/**
 * A task an earlier process of this worker started and that still belongs to it (a Kubernetes Job or a Docker
 * container that outlived a worker restart): the lifecycle follows it through the backend ({@link TaskBackend#resume})
 * and reports its end once.
 *
 * @param secrets values to redact from its output (the task's own environment values)
 * @param reclaim the task still runs here: the control plane is told again that this worker holds it
 *     ({@code task_claimed}); false for a task that ended while no worker watched or that the backend ends at once
 * @param outputFromStart {@link TaskBackend#resume} delivers the task's output from its first byte again, so each
 *     chunk's stream position ({@code offset}) is known; false when it resumes from now
 */
public record AdoptedTask(String taskId, String executionId, String title, List<String> secrets, boolean reclaim,
    boolean outputFromStart) {

  /** A task that still runs and whose output resumes from now. */
  public AdoptedTask(String taskId, String executionId, String title, List<String> secrets) {
    this(taskId, executionId, title, secrets, true, false);
  }

  public AdoptedTask {
    secrets = List.copyOf(secrets);
  }

  @Override
  public String toString() {
    return "AdoptedTask[taskId=" + taskId + ", executionId=" + executionId + ", reclaim=" + reclaim + "]";
  }
}
