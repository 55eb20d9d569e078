package dev.oz.worker.backend;

import java.util.List;

/**
 * One task as every backend sees it, resolved once from the assignment (the Go worker's task params): no protocol
 * detail, and nothing of any one backend. Each backend adds its own part: the Docker backend the image default, the
 * entrypoint, {@code /workspace} and its operator environment; a process backend its workspace and executable.
 * Immutable; safe to pass on the event bus.
 *
 * @param image the assignment's image, trimmed; null when it named none (the backend picks its default)
 * @param env the protocol's variables then the assignment's {@code env_vars}, in that order (operator variables
 *     are the backend's to add)
 * @param agentArgs the agent's argument vector after the executable: {@code agent run ...}
 * @param sidecars the agent sidecar ({@code /agent}) first, then the assignment's additional sidecars
 * @param shape the requested resources; zero means no limit
 * @param secrets values that must never appear in streamed output or logs
 * @param harness the agent harness ({@code agent_config_snapshot.harness.type}, e.g. {@code claude}); null for none
 * @param taskJson the assignment's {@code task} object as the Go worker re-encodes it (compact JSON), for backends
 *     that hand the whole task to another system; null when not resolved
 */
public record TaskDescription(
    String taskId,
    String executionId,
    String title,
    String image,
    List<EnvVar> env,
    List<String> agentArgs,
    List<SidecarMount> sidecars,
    Shape shape,
    List<String> secrets,
    String harness,
    String taskJson) {

  /** Secrets shorter than this are not redacted: replacing "1" or "yes" everywhere would destroy the output. */
  public static final int MIN_SECRET_LENGTH = 4;

  /** Where the agent sidecar ({@code sidecar_image}) is mounted. */
  public static final String AGENT_MOUNT = "/agent";

  /** One environment variable; the value may be a secret. */
  public record EnvVar(String name, String value) {
    @Override
    public String toString() {
      return name + "=<redacted>";
    }
  }

  /** A sidecar image whose filesystem is mounted into the task at {@code mountPath}. */
  public record SidecarMount(String image, String mountPath, boolean readWrite) {
  }

  /** The assignment's {@code instance_shape}; zero or less means no limit. */
  public record Shape(long vcpus, long memoryGb) {
    public static final Shape NONE = new Shape(0, 0);
  }

  public TaskDescription {
    env = List.copyOf(env);
    agentArgs = List.copyOf(agentArgs);
    sidecars = List.copyOf(sidecars);
    secrets = List.copyOf(secrets);
  }

  /** Without harness and task object (backends that need neither). */
  public TaskDescription(String taskId, String executionId, String title, String image, List<EnvVar> env,
      List<String> agentArgs, List<SidecarMount> sidecars, Shape shape, List<String> secrets) {
    this(taskId, executionId, title, image, env, agentArgs, sidecars, shape, secrets, null, null);
  }

  /** Environment names only: values are secrets. */
  @Override
  public String toString() {
    return "TaskDescription[taskId=" + taskId + ", executionId=" + executionId + ", image=" + image + ", env="
        + env.stream().map(EnvVar::name).toList() + ", agentArgs=" + agentArgs + ", sidecars=" + sidecars
        + ", shape=" + shape + ", harness=" + harness + "]";
  }
}
