package dev.oz.worker.direct;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.oz.worker.backend.BackendCapabilities;
import dev.oz.worker.backend.BackendContext;
import dev.oz.worker.backend.BackendFactory;
import dev.oz.worker.backend.TaskBackend;
import dev.oz.worker.config.GoYamlBlock;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;

/** The {@code direct} backend: its settings ({@code direct} block, {@code backend.direct} in YAML, --target-dir). */
public final class DirectBackendFactory implements BackendFactory<DirectOptions> {
  public static final String NAME = "direct";

  /** The Go worker's {@code backend.direct} schema, plus three durations of ours. */
  record GoDirectBlock(
      @JsonProperty("workspace_root") String workspaceRoot,
      @JsonProperty("target_dir") String targetDir,
      @JsonProperty("oz_path") String ozPath,
      @JsonProperty("setup_command") String setupCommand,
      @JsonProperty("teardown_command") String teardownCommand,
      @JsonProperty("environment") List<GoYamlBlock.EnvVar> environment,
      @JsonProperty("cancel_grace_period") String cancelGracePeriod,
      @JsonProperty("setup_timeout") String setupTimeout,
      @JsonProperty("teardown_timeout") String teardownTimeout) {
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public List<Flag> flags() {
    return List.of(new Flag(List.of("--target-dir"), "DIR",
        "Run every task in this directory instead of a workspace of its own (direct backend)",
        (block, v) -> block.put("target_dir", v)));
  }

  @Override
  public JsonObject fromGoYaml(GoYamlBlock yaml, Map<String, String> hostEnv) {
    GoDirectBlock d = yaml.bind(GoDirectBlock.class);
    JsonObject json = new JsonObject();
    putIfSet(json, "workspace_root", d.workspaceRoot());
    putIfSet(json, "target_dir", d.targetDir());
    putIfSet(json, "oz_path", d.ozPath());
    putIfSet(json, "setup_command", d.setupCommand());
    putIfSet(json, "teardown_command", d.teardownCommand());
    putIfSet(json, "cancel_grace_period", d.cancelGracePeriod());
    putIfSet(json, "setup_timeout", d.setupTimeout());
    putIfSet(json, "teardown_timeout", d.teardownTimeout());
    if (d.environment() != null) {
      json.put("environment", yaml.environment(d.environment(), hostEnv));
    }
    return json;
  }

  private static void putIfSet(JsonObject json, String key, String value) {
    if (value != null) {
      json.put(key, value);
    }
  }

  @Override
  public DirectOptions options(JsonObject block, Map<String, String> hostEnv) {
    return DirectOptions.fromJson(block, hostEnv);
  }

  @Override
  public TaskBackend create(BackendContext<DirectOptions> context) {
    return new DirectBackend(context);
  }

  /** A cancel is SIGTERM, the grace period, SIGKILL, then the teardown command. */
  @Override
  public BackendCapabilities capabilities(DirectOptions options) {
    java.time.Duration cancel = options.getCancelGracePeriod().plusSeconds(2);
    if (options.getTeardownCommand() != null) {
      cancel = cancel.plus(options.getTeardownTimeout().isZero() ? java.time.Duration.ofMinutes(1)
          : options.getTeardownTimeout());
    }
    return BackendCapabilities.local(cancel).withOneShot(); // one-shot is the Go worker's direct-only mode
  }
}
