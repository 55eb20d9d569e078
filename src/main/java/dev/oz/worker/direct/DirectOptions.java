package dev.oz.worker.direct;

import dev.oz.worker.config.ConfigException;
import dev.oz.worker.config.ConfigJson;
import dev.oz.worker.config.EnvEntry;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Settings of the direct backend ({@code direct} in the JSON config, {@code backend.direct} in the Go YAML file). */
public class DirectOptions {
  public static final String DEFAULT_WORKSPACE_ROOT = "/var/lib/oz/workspaces";
  public static final Duration DEFAULT_CANCEL_GRACE_PERIOD = Duration.ofSeconds(10);
  public static final Duration DEFAULT_TEARDOWN_TIMEOUT = Duration.ofMinutes(5);

  private String workspaceRoot = DEFAULT_WORKSPACE_ROOT;
  private String targetDir;
  private String ozPath;
  private String setupCommand;
  private String teardownCommand;
  private List<EnvEntry> environment = new ArrayList<>();
  private Duration cancelGracePeriod = DEFAULT_CANCEL_GRACE_PERIOD;
  private Duration setupTimeout = Duration.ZERO;
  private Duration teardownTimeout = DEFAULT_TEARDOWN_TIMEOUT;

  /** Reads and validates the {@code direct} block; unknown keys are errors. */
  public static DirectOptions fromJson(JsonObject block, Map<String, String> hostEnv) {
    DirectOptions o = ConfigJson.read(block, DirectOptions.class, DirectBackendFactory.NAME, hostEnv);
    o.validate();
    return o;
  }


  public void validate() {
    if (workspaceRoot == null || workspaceRoot.isBlank()) {
      workspaceRoot = DEFAULT_WORKSPACE_ROOT; // as the Go worker: empty means the default
    }
    if (targetDir != null && targetDir.isBlank()) {
      targetDir = null;
    }
    if (ozPath != null && ozPath.isBlank()) {
      ozPath = null;
    }
    for (Map.Entry<String, Duration> d : Map.of("cancel_grace_period", cancelGracePeriod,
        "setup_timeout", setupTimeout, "teardown_timeout", teardownTimeout).entrySet()) {
      if (d.getValue().isNegative()) {
        throw new ConfigException("direct." + d.getKey() + " must not be negative");
      }
    }
  }

  public JsonObject toJson() {
    return ConfigJson.toJson(this);
  }

  /** Where per-task workspaces are made ({@code <root>/<task id>}). */
  public String getWorkspaceRoot() {
    return workspaceRoot;
  }

  public DirectOptions setWorkspaceRoot(String workspaceRoot) {
    this.workspaceRoot = workspaceRoot;
    return this;
  }

  /** One directory every task runs in (no per-task workspace, nothing removed); null for per-task workspaces. */
  public String getTargetDir() {
    return targetDir;
  }

  public DirectOptions setTargetDir(String targetDir) {
    this.targetDir = targetDir;
    return this;
  }

  /** The {@code oz} executable; null means {@code oz} on {@code PATH}. */
  public String getOzPath() {
    return ozPath;
  }

  public DirectOptions setOzPath(String ozPath) {
    this.ozPath = ozPath;
    return this;
  }

  public String getSetupCommand() {
    return setupCommand;
  }

  public DirectOptions setSetupCommand(String setupCommand) {
    this.setupCommand = setupCommand;
    return this;
  }

  public String getTeardownCommand() {
    return teardownCommand;
  }

  public DirectOptions setTeardownCommand(String teardownCommand) {
    this.teardownCommand = teardownCommand;
    return this;
  }

  public List<EnvEntry> getEnvironment() {
    return environment;
  }

  public DirectOptions setEnvironment(List<EnvEntry> environment) {
    this.environment = new ArrayList<>(environment);
    return this;
  }

  /** Between SIGTERM and SIGKILL when a task is cancelled. */
  public Duration getCancelGracePeriod() {
    return cancelGracePeriod;
  }

  public DirectOptions setCancelGracePeriod(Duration cancelGracePeriod) {
    this.cancelGracePeriod = cancelGracePeriod;
    return this;
  }

  /** Zero: no limit (as in the Go worker). */
  public Duration getSetupTimeout() {
    return setupTimeout;
  }

  public DirectOptions setSetupTimeout(Duration setupTimeout) {
    this.setupTimeout = setupTimeout;
    return this;
  }

  /** Zero: no limit. */
  public Duration getTeardownTimeout() {
    return teardownTimeout;
  }

  public DirectOptions setTeardownTimeout(Duration teardownTimeout) {
    this.teardownTimeout = teardownTimeout;
    return this;
  }
}
