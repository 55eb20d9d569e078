package dev.oz.worker.docker;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.oz.worker.backend.BackendCapabilities;
import dev.oz.worker.backend.BackendContext;
import dev.oz.worker.backend.BackendFactory;
import dev.oz.worker.backend.TaskBackend;
import dev.oz.worker.config.FlagValues;
import dev.oz.worker.config.GoYamlBlock;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;

/** The {@code docker} backend: its settings ({@code docker} block, {@code backend.docker} in YAML, flags) and its creation. */
public final class DockerBackendFactory implements BackendFactory<DockerOptions> {
  public static final String NAME = "docker";

  /** Null: the worker's environment ({@link BackendContext#hostEnv()}) and the default socket. */
  private final EngineDiscovery discovery;

  /** The registered backend: finds the engine through the worker's environment. */
  public DockerBackendFactory() {
    this(null);
  }

  /** Finds the engine (and registry credentials) through {@code discovery}: tests and embedding. */
  public DockerBackendFactory(EngineDiscovery discovery) {
    this.discovery = discovery;
  }

  /**
   * The Go worker's {@code backend.docker} schema, plus extensions of ours that its strict parser would refuse:
   * {@code pull_policy} (a list), the container policy keys (see {@link ContainerPolicy}) and
   * {@code preserve_tasks_on_shutdown}.
   */
  record GoDockerBlock(
      @JsonProperty("volumes") List<String> volumes,
      @JsonProperty("environment") List<GoYamlBlock.EnvVar> environment,
      @JsonProperty("pull_policy") List<String> pullPolicy,
      @JsonProperty("image_pull_policy") String imagePullPolicy,
      @JsonProperty("sidecar_image") String sidecarImage,
      @JsonProperty("default_vcpus") Double defaultVcpus,
      @JsonProperty("default_memory_gb") Double defaultMemoryGb,
      @JsonProperty("pids_limit") Long pidsLimit,
      @JsonProperty("network") String network,
      @JsonProperty("runtime") String runtime,
      @JsonProperty("cap_drop") List<String> capDrop,
      @JsonProperty("no_new_privileges") Boolean noNewPrivileges,
      @JsonProperty("read_only_rootfs") Boolean readOnlyRootfs,
      @JsonProperty("ulimits") List<String> ulimits,
      @JsonProperty("preserve_tasks_on_shutdown") Boolean preserveTasksOnShutdown) {
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public List<Flag> flags() {
    return List.of(
        new Flag(List.of("-v", "--volumes"), "HOST:CONTAINER[:MODE]", "Volume mount for task containers (repeatable)",
            (block, v) -> FlagValues.list(block, "volumes").add(v)),
        new Flag(List.of("--pull-policy"), "POLICY[,POLICY]",
            "Image pull policy: always, if-not-present, never, or fallbacks in order (default always,if-not-present)",
            (block, v) -> block.put("pull_policy", new JsonArray().add(v))),
        new Flag(List.of("--default-vcpus"), "N", "CPUs for a task whose assignment names none (e.g. 2 or 0.5)",
            (block, v) -> block.put("default_vcpus", FlagValues.number("--default-vcpus", v))),
        new Flag(List.of("--default-memory-gb"), "N", "Memory (GiB) for a task whose assignment names none",
            (block, v) -> block.put("default_memory_gb", FlagValues.number("--default-memory-gb", v))),
        new Flag(List.of("--pids-limit"), "N", "At most N processes in each task container",
            (block, v) -> block.put("pids_limit", (long) FlagValues.number("--pids-limit", v))),
        new Flag(List.of("--network"), "NAME", "Network of task containers: bridge, none, host or a named network",
            (block, v) -> block.put("network", v)),
        new Flag(List.of("--runtime"), "NAME", "OCI runtime of task containers (e.g. runsc)",
            (block, v) -> block.put("runtime", v)),
        new Flag(List.of("--cap-drop"), "CAP", "Capability to drop from task containers (repeatable; ALL for all)",
            (block, v) -> FlagValues.list(block, "cap_drop").add(v)),
        new Flag(List.of("--no-new-privileges"), null, "Task processes cannot gain privileges (setuid)",
            (block, v) -> block.put("no_new_privileges", Boolean.parseBoolean(v))),
        new Flag(List.of("--read-only"), null, "Read-only root filesystem; /workspace and /tmp stay writable",
            (block, v) -> block.put("read_only_rootfs", Boolean.parseBoolean(v))),
        new Flag(List.of("--ulimit"), "NAME=SOFT[:HARD]", "ulimit of task containers (repeatable)",
            (block, v) -> FlagValues.list(block, "ulimits").add(v)),
        new Flag(List.of("--preserve-tasks-on-shutdown"), null,
            "On shutdown leave running task containers to the next worker process (which adopts them)",
            (block, v) -> block.put("preserve_tasks_on_shutdown", Boolean.parseBoolean(v))));
  }

  @Override
  public JsonObject fromGoYaml(GoYamlBlock yaml, Map<String, String> hostEnv) {
    GoDockerBlock docker = yaml.bind(GoDockerBlock.class);
    JsonObject json = new JsonObject();
    if (docker.volumes() != null) {
      json.put("volumes", new JsonArray(List.copyOf(docker.volumes())));
    }
    if (docker.environment() != null) {
      json.put("environment", yaml.environment(docker.environment(), hostEnv));
    }
    if (docker.pullPolicy() != null) {
      json.put("pull_policy", new JsonArray(List.copyOf(docker.pullPolicy())));
    } else if (docker.imagePullPolicy() != null) {
      json.put("pull_policy", new JsonArray().add(docker.imagePullPolicy()));
    }
    Map<String, Object> extensions = new java.util.LinkedHashMap<>();
    extensions.put("sidecar_image", docker.sidecarImage());
    extensions.put("default_vcpus", docker.defaultVcpus());
    extensions.put("default_memory_gb", docker.defaultMemoryGb());
    extensions.put("pids_limit", docker.pidsLimit());
    extensions.put("network", docker.network());
    extensions.put("runtime", docker.runtime());
    extensions.put("cap_drop", docker.capDrop() == null ? null : new JsonArray(List.copyOf(docker.capDrop())));
    extensions.put("no_new_privileges", docker.noNewPrivileges());
    extensions.put("read_only_rootfs", docker.readOnlyRootfs());
    extensions.put("ulimits", docker.ulimits() == null ? null : new JsonArray(List.copyOf(docker.ulimits())));
    extensions.put("preserve_tasks_on_shutdown", docker.preserveTasksOnShutdown());
    extensions.forEach((key, value) -> {
      if (value != null) {
        json.put(key, value);
      }
    });
    return json;
  }

  @Override
  public DockerOptions options(JsonObject block, Map<String, String> hostEnv) {
    return DockerOptions.fromJson(block, hostEnv);
  }

  @Override
  public TaskBackend create(BackendContext<DockerOptions> context) {
    return new DockerBackend(context, discovery != null ? discovery
        : EngineDiscovery.of(context.hostEnv(), EngineDiscovery.DEFAULT_SOCKET));
  }

  @Override
  public BackendCapabilities capabilities(DockerOptions options) {
    BackendCapabilities local = BackendCapabilities.local(options.getCancelGracePeriod());
    return options.isPreserveTasksOnShutdown()
        ? new BackendCapabilities(true, local.cancelTimeout(), local.oneShot()) : local;
  }
}
