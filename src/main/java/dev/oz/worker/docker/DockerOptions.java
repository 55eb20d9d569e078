package dev.oz.worker.docker;

import dev.oz.worker.config.ConfigException;
import dev.oz.worker.config.ConfigReader;
import dev.oz.worker.config.Durations;
import dev.oz.worker.config.EnvEntry;
import io.vertx.core.json.JsonArray;
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
  private List<PullPolicy> pullPolicy = DEFAULT_PULL_POLICY;
  private String defaultImage = DEFAULT_IMAGE;
  private Duration cancelGracePeriod = DEFAULT_CANCEL_GRACE_PERIOD;
  private int blockingPoolSize = DEFAULT_BLOCKING_POOL_SIZE;
  private Duration engineOutageWait = DEFAULT_ENGINE_OUTAGE_WAIT;
  private String host;
  private String sidecarImage;
  private ContainerPolicy policy = ContainerPolicy.NONE;
  private boolean preserveTasksOnShutdown;

  public DockerOptions() {
  }

  public DockerOptions(DockerOptions other) {
    volumes = new ArrayList<>(other.volumes);
    environment = new ArrayList<>(other.environment);
    pullPolicy = other.pullPolicy;
    defaultImage = other.defaultImage;
    cancelGracePeriod = other.cancelGracePeriod;
    blockingPoolSize = other.blockingPoolSize;
    engineOutageWait = other.engineOutageWait;
    host = other.host;
    sidecarImage = other.sidecarImage;
    policy = other.policy;
    preserveTasksOnShutdown = other.preserveTasksOnShutdown;
  }

  /** Reads and validates the {@code docker} block; unknown keys are errors. */
  public static DockerOptions fromJson(JsonObject block, Map<String, String> hostEnv) {
    ConfigReader r = new ConfigReader(block, DockerBackendFactory.NAME);
    DockerOptions o = new DockerOptions();
    r.stringList("volumes", o::setVolumes);
    o.setEnvironment(r.envEntries("environment", hostEnv));
    r.stringList("pull_policy", names -> o.setPullPolicy(parsePullPolicies(r.key("pull_policy"), names)));
    r.string("default_image", o::setDefaultImage);
    r.duration("cancel_grace_period", o::setCancelGracePeriod);
    r.intValue("blocking_pool_size", o::setBlockingPoolSize);
    r.duration("engine_outage_wait", o::setEngineOutageWait);
    r.string("host", o::setHost);
    r.string("sidecar_image", o::setSidecarImage);
    o.setPolicy(ContainerPolicy.read(r, o.policy));
    r.bool("preserve_tasks_on_shutdown", o::setPreserveTasksOnShutdown);
    r.rejectUnknownKeys();
    o.validate();
    return o;
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
    JsonObject json = new JsonObject()
        .put("volumes", new JsonArray(new ArrayList<>(volumes)))
        .put("environment", new JsonArray(environment.stream().map(EnvEntry::toJson).toList()))
        .put("pull_policy", new JsonArray(pullPolicy.stream().map(PullPolicy::configName).toList()))
        .put("default_image", defaultImage)
        .put("cancel_grace_period", Durations.format(cancelGracePeriod))
        .put("blocking_pool_size", blockingPoolSize)
        .put("engine_outage_wait", Durations.format(engineOutageWait));
    if (host != null) {
      json.put("host", host);
    }
    if (sidecarImage != null) {
      json.put("sidecar_image", sidecarImage);
    }
    policy.writeTo(json);
    json.put("preserve_tasks_on_shutdown", preserveTasksOnShutdown);
    return json;
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
