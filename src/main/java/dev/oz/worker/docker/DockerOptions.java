package dev.oz.worker.docker;

import com.fasterxml.jackson.annotation.JsonAnyGetter;
import com.fasterxml.jackson.annotation.JsonAnySetter;
import com.fasterxml.jackson.annotation.JsonGetter;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonSetter;
import dev.oz.worker.config.ConfigException;
import dev.oz.worker.config.ConfigJson;
import dev.oz.worker.config.EnvEntry;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Settings of the Docker backend ({@code docker} in the JSON config, {@code backend.docker} in the Go YAML file). */
public class DockerOptions {
  public static final String DEFAULT_IMAGE = "ubuntu:22.04";
  public static final List<PullPolicy> DEFAULT_PULL_POLICY = List.of(PullPolicy.ALWAYS, PullPolicy.IF_NOT_PRESENT);
  public static final Duration DEFAULT_CANCEL_GRACE_PERIOD = Duration.ofSeconds(10);
  public static final int DEFAULT_BLOCKING_POOL_SIZE = 16;
  public static final Duration DEFAULT_ENGINE_OUTAGE_WAIT = Duration.ofMinutes(2);

  private List<String> volumes = new ArrayList<>();
  private List<EnvEntry> environment = new ArrayList<>();
  private transient List<PullPolicy> pullPolicy = DEFAULT_PULL_POLICY;
  private String defaultImage = DEFAULT_IMAGE;
  private Duration cancelGracePeriod = DEFAULT_CANCEL_GRACE_PERIOD;
  private int blockingPoolSize = DEFAULT_BLOCKING_POOL_SIZE;
  private Duration engineOutageWait = DEFAULT_ENGINE_OUTAGE_WAIT;
  private String host;
  private String sidecarImage;
  private boolean preserveTasksOnShutdown;
  private transient ContainerPolicy policy = ContainerPolicy.NONE;
  private final transient JsonObject policyKeys = new JsonObject();

  /** Reads and validates the {@code docker} block; unknown keys are errors. */
  public static DockerOptions fromJson(JsonObject block, Map<String, String> hostEnv) {
    if (block == null || block.isEmpty()) {
      // the defaults, without building the JSON binder: on the command line this is its first use, at start-up
      DockerOptions o = new DockerOptions();
      o.validate();
      return o;
    }
    DockerOptions o = ConfigJson.read(block, DockerOptions.class, DockerBackendFactory.NAME, hostEnv);
    o.setPolicy(ContainerPolicy.read(o.policyKeys));
    o.validate();
    return o;
  }

  /** The container policy's keys sit in this block beside the others: gathered here, bound by ContainerPolicy. */
  @JsonAnySetter
  private void policySetting(String name, Object value) {
    policyKeys.put(name, value);
  }

  @JsonAnyGetter
  private Map<String, Object> policySettings() {
    JsonObject json = new JsonObject();
    policy.writeTo(json);
    return json.getMap();
  }

  @JsonSetter("pull_policy")
  private void pullPolicySetting(List<String> names) {
    try {
      setPullPolicy(parsePullPolicies("", names));
    } catch (ConfigException e) {
      throw ConfigJson.refuse(e);
    }
  }

  @JsonGetter("pull_policy")
  private List<String> pullPolicySetting() {
    return pullPolicy.stream().map(PullPolicy::configName).toList();
  }

  public static List<PullPolicy> parsePullPolicies(String setting, List<String> names) {
    if (names.isEmpty()) {
      throw new ConfigException(setting + ": at least one pull policy is required");
    }
    List<PullPolicy> out = new ArrayList<>();
    for (String n : names) {
      for (String part : n.split(",")) {
        out.add(PullPolicy.parse(setting, part));
      }
    }
    return List.copyOf(out);
  }

  public void validate() {
    if (defaultImage == null || defaultImage.isBlank()) {
      throw new ConfigException("docker.default_image must not be empty");
    }
    if (cancelGracePeriod.isNegative()) {
      throw new ConfigException("docker.cancel_grace_period must not be negative");
    }
    if (host != null && !host.isBlank() && !host.matches("^(unix|tcp|npipe)://.+")) {
      throw new ConfigException("docker.host: unsupported address \"" + host
          + "\" (use unix:///var/run/docker.sock or tcp://host:2376)");
    }
    if (engineOutageWait.isNegative()) {
      throw new ConfigException("docker.engine_outage_wait must not be negative");
    }
    if (blockingPoolSize < 1) {
      throw new ConfigException("docker.blocking_pool_size must be at least 1, got " + blockingPoolSize);
    }
    for (String v : volumes) {
      checkVolume(v);
    }
  }

  private static final java.util.Set<String> VOLUME_MODES = java.util.Set.of("ro", "rw", "z", "Z", "nocopy",
      "shared", "slave", "private", "rshared", "rslave", "rprivate", "consistent", "cached", "delegated");

  /** A {@code -v} value the engine will accept: {@code SOURCE:/container/path[:MODE[,MODE]]}. */
  static void checkVolume(String v) {
    String usage = "invalid volume \"" + v + "\": use HOST_PATH:CONTAINER_PATH or HOST_PATH:CONTAINER_PATH:MODE";
    if (v == null || v.isBlank()) {
      throw new ConfigException(usage);
    }
    String[] parts = v.split(":", -1);
    if (parts.length < 2 || parts.length > 3 || parts[0].isEmpty() || !parts[1].startsWith("/")) {
      throw new ConfigException(usage + " (the container path must be absolute)");
    }
    if (parts.length == 3) {
      for (String mode : parts[2].split(",")) {
        if (!VOLUME_MODES.contains(mode)) {
          throw new ConfigException(usage + " (unknown mode \"" + mode + "\"; e.g. ro or rw)");
        }
      }
    }
  }

  public JsonObject toJson() {
    return ConfigJson.toJson(this);
  }

  public List<String> getVolumes() {
    return volumes;
  }

  public DockerOptions setVolumes(List<String> volumes) {
    this.volumes = new ArrayList<>(volumes);
    return this;
  }

  public DockerOptions addVolume(String volume) {
    volumes.add(volume);
    return this;
  }

  public List<EnvEntry> getEnvironment() {
    return environment;
  }

  public DockerOptions setEnvironment(List<EnvEntry> environment) {
    this.environment = new ArrayList<>(environment);
    return this;
  }

  public List<PullPolicy> getPullPolicy() {
    return pullPolicy;
  }

  @JsonIgnore // bound by pullPolicySetting
  public DockerOptions setPullPolicy(List<PullPolicy> pullPolicy) {
    this.pullPolicy = List.copyOf(pullPolicy);
    return this;
  }

  public String getDefaultImage() {
    return defaultImage;
  }

  public DockerOptions setDefaultImage(String defaultImage) {
    this.defaultImage = defaultImage;
    return this;
  }

  public Duration getCancelGracePeriod() {
    return cancelGracePeriod;
  }

  public DockerOptions setCancelGracePeriod(Duration cancelGracePeriod) {
    this.cancelGracePeriod = cancelGracePeriod;
    return this;
  }

  public int getBlockingPoolSize() {
    return blockingPoolSize;
  }

  public DockerOptions setBlockingPoolSize(int blockingPoolSize) {
    this.blockingPoolSize = blockingPoolSize;
    return this;
  }

  /**
   * How long a task whose container ran when the engine went away waits for the engine before it is reported as
   * {@code engine_unavailable}; with live-restore, a container still running when the engine returns is followed on.
   */
  public Duration getEngineOutageWait() {
    return engineOutageWait;
  }

  public DockerOptions setEngineOutageWait(Duration engineOutageWait) {
    this.engineOutageWait = engineOutageWait;
    return this;
  }

  /** Replaces the agent sidecar ({@code /agent}) an assignment names, when it names one; null keeps the server's. */
  public String getSidecarImage() {
    return sidecarImage;
  }

  public DockerOptions setSidecarImage(String sidecarImage) {
    this.sidecarImage = sidecarImage == null || sidecarImage.isBlank() ? null : sidecarImage.strip();
    return this;
  }

  /** What the operator imposes on every task container (limits, isolation). */
  public ContainerPolicy getPolicy() {
    return policy;
  }

  @JsonIgnore // bound by policySetting
  public DockerOptions setPolicy(ContainerPolicy policy) {
    this.policy = policy;
    return this;
  }

  /** Engine address overriding discovery ({@code DOCKER_HOST}, contexts); null means discover. */
  public String getHost() {
    return host;
  }

  public DockerOptions setHost(String host) {
    this.host = host;
    return this;
  }

  /**
   * A worker shutdown leaves running task containers alone (after the drain grace) instead of cancelling them; the
   * next worker process with the same worker id adopts them. Off by default, as in the Go worker.
   */
  public boolean isPreserveTasksOnShutdown() {
    return preserveTasksOnShutdown;
  }

  public DockerOptions setPreserveTasksOnShutdown(boolean preserveTasksOnShutdown) {
    this.preserveTasksOnShutdown = preserveTasksOnShutdown;
    return this;
  }
}
