package dev.oz.worker.docker;

import dev.oz.worker.backend.TaskDescription;
import dev.oz.worker.backend.TaskDescription.SidecarMount;
import dev.oz.worker.config.EnvEntry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The task container of PROTOCOL.md section 4, made from the backend-neutral task: the image (else
 * {@code docker.default_image}), {@code /agent/entrypoint.sh} before the agent's arguments, {@code /workspace}, the
 * task's environment then the operator's ({@code docker.environment}, then {@code -e}; a later entry of the same name
 * wins), and the shape as engine limits.
 *
 * @param env {@code KEY=VALUE} entries, as the engine takes them
 */
record ContainerSpec(
    String taskId,
    String executionId,
    String title,
    String image,
    List<String> env,
    List<String> command,
    String workingDir,
    List<SidecarMount> sidecars,
    long nanoCpus,
    long memoryBytes,
    List<String> secrets) {

  static final String WORKING_DIR = "/workspace";
  static final String ENTRYPOINT = "/agent/entrypoint.sh";
  private static final long GIB = 1L << 30;

  static ContainerSpec of(TaskDescription task, DockerOptions docker, List<EnvEntry> workerEnv) {
    List<String> env = new ArrayList<>();
    task.env().forEach(e -> env.add(e.name() + "=" + e.value()));
    Map<String, String> operator = new LinkedHashMap<>();
    for (EnvEntry e : docker.getEnvironment()) {
      operator.put(e.name(), e.value());
    }
    for (EnvEntry e : workerEnv) {
      operator.remove(e.name()); // moved last, as before: the flag's entry comes after the file's
      operator.put(e.name(), e.value());
    }
    operator.forEach((k, v) -> env.add(k + "=" + v));
    List<String> command = new ArrayList<>();
    command.add(ENTRYPOINT);
    command.addAll(task.agentArgs());
    return new ContainerSpec(
        task.taskId(),
        task.executionId(),
        task.title(),
        task.image() != null ? task.image() : docker.getDefaultImage(),
        env,
        command,
        WORKING_DIR,
        sidecars(task, docker),
        task.shape().vcpus() > 0 ? task.shape().vcpus() * 1_000_000_000L : 0,
        task.shape().memoryGb() > 0 ? task.shape().memoryGb() * GIB : 0,
        task.secrets());
  }

  /** {@code docker.sidecar_image} replaces the agent sidecar the server sent (not the additional ones). */
  private static List<SidecarMount> sidecars(TaskDescription task, DockerOptions docker) {
    if (docker.getSidecarImage() == null) {
      return task.sidecars();
    }
    return task.sidecars().stream()
        .map(s -> s.mountPath().equals(TaskDescription.AGENT_MOUNT) ? new SidecarMount(docker.getSidecarImage(),
            s.mountPath(), s.readWrite()) : s)
        .toList();
  }

  ContainerSpec {
    env = List.copyOf(env);
    command = List.copyOf(command);
    sidecars = List.copyOf(sidecars);
    secrets = List.copyOf(secrets);
  }

  /** Environment names only: values are secrets. */
  @Override
  public String toString() {
    return "ContainerSpec[taskId=" + taskId + ", image=" + image + ", env="
        + env.stream().map(e -> e.substring(0, Math.max(0, e.indexOf('=')))).toList()
        + ", command=" + command + ", sidecars=" + sidecars + ", nanoCpus=" + nanoCpus + ", memory=" + memoryBytes + "]";
  }
}
