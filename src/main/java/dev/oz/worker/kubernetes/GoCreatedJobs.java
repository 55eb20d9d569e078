package dev.oz.worker.kubernetes;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Task Jobs the Go worker created (an operator moving from it with the same worker id): they carry the same labels as
 * ours but not the annotations with the exact ids. The ids are recovered from what the Job does carry, each candidate
 * checked against the label's hash of the exact id: the task id from the task container's {@code OZ_RUN_ID} (or
 * {@code TASK_ID}, or the readable label), the execution id from the readable label (or the task id, the Go worker's
 * fallback when an assignment has none).
 *
 * <p>Only a Go-created Job that is still running is adopted. The Go worker leaves no mark of a report it sent: a
 * finished Job may have been reported by it (it keeps failed Jobs for inspection, and every Job when cleanup is off)
 * or may have ended after it stopped; reporting it again could contradict what the control plane was told.
 */
final class GoCreatedJobs {
  private static final Logger log = LoggerFactory.getLogger(GoCreatedJobs.class);

  /** The exact ids of a task Job; {@code executionId} is null when the assignment had none. */
  record Ids(String taskId, String executionId) {
  }

  private GoCreatedJobs() {
  }

  /** True when the Job has none of the annotations this worker writes on its own task Jobs. */
  static boolean isGoCreated(Map<String, String> annotations) {
    return !annotations.containsKey(TaskJobs.TASK_ID_ANNOTATION);
  }

  /** The ids of a Go-created Job this worker can follow to its end and report, or null (and why, in the log). */
  static Ids adoptable(Job job) {
    String name = job.getMetadata().getName();
    if (PodFailures.complete(job) || PodFailures.failed(job)) {
      log.info("Not adopting Job {} (created by the Go worker): it has finished, and whether the Go worker reported "
          + "it cannot be known", name);
      return null;
    }
    Integer parallelism = job.getSpec() == null ? null : job.getSpec().getParallelism();
    if (parallelism != null && parallelism == 0) {
      log.info("Not adopting Job {} (created by the Go worker): it was stopped after a failure the Go worker reported",
          name);
      return null;
    }
    Ids ids = ids(job);
    if (ids == null) {
      log.warn("Not adopting Job {} (created by the Go worker): its task or execution id cannot be recovered from its "
          + "labels and environment; it runs on until its deadline or TTL, unreported by this worker", name);
    }
    return ids;
  }

  /** The exact ids, each confirmed by its hash label; null when either cannot be recovered. */
  static Ids ids(Job job) {
    Map<String, String> labels = job.getMetadata().getLabels() == null ? Map.of() : job.getMetadata().getLabels();
    String taskHash = labels.get(Labels.TASK_HASH);
    String executionHash = labels.get(Labels.EXECUTION_HASH);
    if (taskHash == null || executionHash == null) {
      return null;
    }
    List<String> taskCandidates = new ArrayList<>();
    Map<String, String> env = taskContainerEnv(job);
    taskCandidates.add(env.get("OZ_RUN_ID"));
    taskCandidates.add(env.get("TASK_ID"));
    taskCandidates.add(labels.get(Labels.TASK_ID));
    String taskId = matching(taskHash, taskCandidates);
    if (taskId == null) {
      return null;
    }
    if (Labels.hash(taskId).equals(executionHash)) {
      return new Ids(taskId, null);
    }
    String readable = labels.get(Labels.EXECUTION_ID);
    String executionId = readable == null ? null
        : matching(executionHash, List.of(readable, readable.toUpperCase(Locale.ROOT)));
    return executionId == null ? null : new Ids(taskId, executionId);
  }

  private static String matching(String hash, List<String> candidates) {
    for (String c : candidates) {
      if (c != null && !c.isEmpty() && Labels.hash(c).equals(hash)) {
        return c;
      }
    }
    return null;
  }

  /** The task container's literal environment values by name. */
  private static Map<String, String> taskContainerEnv(Job job) {
    Map<String, String> env = new java.util.HashMap<>();
    if (job.getSpec() == null || job.getSpec().getTemplate() == null || job.getSpec().getTemplate().getSpec() == null) {
      return env;
    }
    for (Container c : job.getSpec().getTemplate().getSpec().getContainers()) {
      if (TaskJobs.TASK_CONTAINER.equals(c.getName()) && c.getEnv() != null) {
        for (EnvVar e : c.getEnv()) {
          if (e.getValue() != null) {
            env.put(e.getName(), e.getValue());
          }
        }
      }
    }
    return env;
  }
}
