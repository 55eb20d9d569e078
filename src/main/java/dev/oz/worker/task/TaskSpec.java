package dev.oz.worker.task;

import java.util.List;

/**
 * Everything a backend needs to run one task, resolved once from the assignment (see {@link TaskSpecResolver}),
 * so backends stay free of protocol detail. Immutable; safe to pass on the event bus.
 *
 * @param env {@code KEY=VALUE} entries in protocol order: protocol variables, assignment env, worker env
 * @param command the full argument vector, starting with {@code /agent/entrypoint.sh}
 * @param secrets values that must never appear in streamed output or logs
 */
public record TaskSpec(
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

  public static final String WORKING_DIR = "/workspace";
  public static final String ENTRYPOINT = "/agent/entrypoint.sh";

  /** A sidecar image whose filesystem is mounted into the task container at {@code mountPath}. */
  public record SidecarMount(String image, String mountPath, boolean readWrite) {
  }

  public TaskSpec {
    env = List.copyOf(env);
    command = List.copyOf(command);
    sidecars = List.copyOf(sidecars);
    secrets = List.copyOf(secrets);
  }

  /** Environment names only: values are secrets. */
  @Override
  public String toString() {
    return "TaskSpec[taskId=" + taskId + ", image=" + image + ", env="
        + env.stream().map(e -> e.substring(0, Math.max(0, e.indexOf('=')))).toList()
        + ", command=" + command + ", sidecars=" + sidecars + ", nanoCpus=" + nanoCpus + ", memory=" + memoryBytes + "]";
  }
}
