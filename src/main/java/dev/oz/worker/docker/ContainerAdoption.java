package dev.oz.worker.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import dev.oz.worker.backend.AdoptedTask;
import dev.oz.worker.backend.TaskDescription;
import dev.oz.worker.backend.TaskOutput;
import dev.oz.worker.config.WorkerOptions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Task containers an earlier process of this worker id left behind (a crash, an upgrade, a shutdown that preserved
 * them), found at start by their labels and handed to the lifecycle as {@link AdoptedTask}s, so each task is reported
 * exactly once:
 * <ul>
 *   <li>still running (or created but never started), with {@code docker.preserve_tasks_on_shutdown}: claimed again,
 *       followed from its first output byte, reported when it ends, removed;</li>
 *   <li>still running without preservation: stopped, reported {@code task_failed} ({@code graceful_shutdown}) with a
 *       message that says why, removed;</li>
 *   <li>ended while no worker watched: reported from its exit code, removed (a normal end removes the container
 *       before the report, so an ended container was never reported);</li>
 *   <li>anything that names no task (sidecar copies, containers without a task label): removed.</li>
 * </ul>
 * With cleanup off, ended containers are kept and not reported (a reported task's container stays then too).
 */
final class ContainerAdoption {
  private static final Logger log = LoggerFactory.getLogger(ContainerAdoption.class);
  static final String TITLE_LABEL = "oz.task.title";
  /** Names of the task's variables whose values are secrets: the adopted output is redacted as the original was. */
  static final String SECRET_ENV_LABEL = "oz.task.secret-env";
  private static final int MAX_TITLE = 256;
  private static final Set<String> RUNNING = Set.of("running", "paused", "restarting");
  private static final Set<String> ENDED = Set.of("exited", "dead");

  /** A container that belongs to a task, with what resuming it needs. */
  record Found(String containerId, ContainerSpec spec, boolean running, boolean neverStarted, String orphanCause) {
    AdoptedTask task() {
      boolean continued = orphanCause == null && (running || neverStarted);
      return new AdoptedTask(spec.taskId(), spec.executionId(), spec.title(), spec.secrets(), continued, true);
    }
  }

  private final Map<String, Found> found;

  private ContainerAdoption(Map<String, Found> found) {
    this.found = found;
  }

  /** The labels of a task container: who owns it and what adopting it needs (never a secret value). */
  static Map<String, String> labels(ContainerSpec spec, String workerId) {
    Map<String, String> labels = new HashMap<>();
    labels.put(DockerRuntime.WORKER_LABEL, workerId);
    labels.put(DockerRuntime.TASK_LABEL, spec.taskId());
    if (spec.executionId() != null && !spec.executionId().isEmpty()) {
      labels.put(DockerRuntime.EXECUTION_LABEL, spec.executionId());
    }
    if (spec.title() != null && !spec.title().isEmpty()) {
      labels.put(TITLE_LABEL, spec.title().length() > MAX_TITLE ? spec.title().substring(0, MAX_TITLE) : spec.title());
    }
    Set<String> secretValues = Set.copyOf(spec.secrets());
    String secretNames = spec.env().stream()
        .filter(e -> e.indexOf('=') > 0 && secretValues.contains(e.substring(e.indexOf('=') + 1)))
        .map(e -> e.substring(0, e.indexOf('=')))
        .distinct()
        .collect(Collectors.joining(","));
    if (!secretNames.isEmpty()) {
      labels.put(SECRET_ENV_LABEL, secretNames);
    }
    return labels;
  }

  /** Blocking: lists this worker id's containers, removes those that name no task, keeps the rest for adoption. */
  static ContainerAdoption scan(DockerClient docker, WorkerOptions options, DockerOptions settings) {
    List<Container> containers = docker.listContainersCmd().withShowAll(true)
        .withLabelFilter(Map.of(DockerRuntime.WORKER_LABEL, options.getWorkerId())).exec();
    Map<String, Found> found = new LinkedHashMap<>();
    List<Container> newestFirst = new ArrayList<>(containers);
    newestFirst.sort(Comparator.comparing((Container c) -> c.getCreated() == null ? 0L : c.getCreated()).reversed());
    for (Container c : newestFirst) {
      String task = c.getLabels() == null ? null : c.getLabels().get(DockerRuntime.TASK_LABEL);
      if (task == null || task.isEmpty() || found.containsKey(task)) {
        remove(docker, options, c.getId(), task == null || task.isEmpty() ? "a sidecar copy"
            : "an older container of task " + task);
        continue;
      }
      try {
        Found f = inspect(docker.inspectContainerCmd(c.getId()).exec(), task, settings.isPreserveTasksOnShutdown());
        if (f == null) {
          continue;
        }
        if (!options.isCleanup() && !f.running() && !f.neverStarted()) {
          log.info("Keeping container {} of task {} from a previous run (cleanup disabled): not reporting it again",
              shortId(c.getId()), task);
          continue;
        }
        found.put(task, f);
        log.atInfo().addKeyValue("task_id", task).log("Found container {} of task {} from an earlier worker process"
            + " ({}): {}", shortId(c.getId()), task, f.running() ? "running" : f.neverStarted() ? "never started" : "ended",
            f.orphanCause() != null ? "stopping and reporting it" : f.running() || f.neverStarted() ? "adopting it"
                : "reporting its outcome");
      } catch (NotFoundException e) {
        log.debug("Container {} disappeared while being inspected", shortId(c.getId()));
      }
    }
    return new ContainerAdoption(found);
  }

  private static Found inspect(InspectContainerResponse inspect, String taskId, boolean preserve) {
    var state = inspect.getState();
    String status = state == null || state.getStatus() == null ? "" : state.getStatus();
    boolean running = RUNNING.contains(status);
    boolean neverStarted = "created".equals(status);
    if (!running && !neverStarted && !ENDED.contains(status)) {
      log.info("Leaving container {} of task {} alone: it is {}", shortId(inspect.getId()), taskId, status);
      return null;
    }
    Map<String, String> labels = inspect.getConfig() == null || inspect.getConfig().getLabels() == null ? Map.of()
        : inspect.getConfig().getLabels();
    String orphanCause = null;
    if (!preserve && running) {
      orphanCause = "the worker restarted while the task was running and does not continue it"
          + " (docker.preserve_tasks_on_shutdown is off): its container was stopped";
    } else if (!preserve && neverStarted) {
      orphanCause = "the worker restarted before the task's container started"
          + " (docker.preserve_tasks_on_shutdown is off)";
    }
    ContainerSpec spec = new ContainerSpec(taskId, labels.getOrDefault(DockerRuntime.EXECUTION_LABEL, ""),
        labels.getOrDefault(TITLE_LABEL, ""), inspect.getConfig() == null ? "" : inspect.getConfig().getImage(),
        List.of(), List.of(), ContainerSpec.WORKING_DIR, List.of(), 0, 0, secrets(inspect, labels));
    return new Found(inspect.getId(), spec, running, neverStarted, orphanCause);
  }

  /** The values of the variables the label names, as the resolver picked them (long enough to redact). */
  private static List<String> secrets(InspectContainerResponse inspect, Map<String, String> labels) {
    String names = labels.get(SECRET_ENV_LABEL);
    String[] env = inspect.getConfig() == null ? null : inspect.getConfig().getEnv();
    if (names == null || names.isEmpty() || env == null) {
      return List.of();
    }
    Set<String> wanted = Set.of(names.split(","));
    List<String> out = new ArrayList<>();
    for (String e : env) {
      int eq = e.indexOf('=');
      if (eq > 0 && wanted.contains(e.substring(0, eq))) {
        String value = e.substring(eq + 1);
        if (value.length() >= TaskDescription.MIN_SECRET_LENGTH && !out.contains(value)) {
          out.add(value);
        }
      }
    }
    return out;
  }

  private static void remove(DockerClient docker, WorkerOptions options, String id, String what) {
    if (!options.isCleanup()) {
      log.info("Keeping container {} of {} from a previous run (cleanup disabled)", shortId(id), what);
      return;
    }
    log.warn("Removing container {} of {} left behind by a previous run", shortId(id), what);
    try {
      docker.removeContainerCmd(id).withForce(true).withRemoveVolumes(true).exec();
    } catch (RuntimeException e) {
      log.warn("Failed to remove leftover container {}: {}", shortId(id), e.getMessage());
    }
  }

  /** What the lifecycle adopts, in the order found (newest first). */
  List<AdoptedTask> tasks() {
    return found.values().stream().map(Found::task).toList();
  }

  /** A run that follows the adopted task's container to its end (null when there is none for the task). */
  ContainerRun take(String taskId, DockerRuntime rt, TaskOutput output) {
    Found f = found.remove(taskId);
    if (f == null) {
      return null;
    }
    ContainerRun run = ContainerRun.adopted(rt, f.spec(), f.containerId(), output, f.running(), f.neverStarted());
    return f.orphanCause() == null ? run : run.orphaned(f.orphanCause());
  }

  private static String shortId(String id) {
    return id == null ? "?" : id.substring(0, Math.min(12, id.length()));
  }
}
