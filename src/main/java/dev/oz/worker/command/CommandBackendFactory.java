package dev.oz.worker.command;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.oz.worker.backend.BackendCapabilities;
import dev.oz.worker.backend.BackendContext;
import dev.oz.worker.backend.BackendFactory;
import dev.oz.worker.backend.TaskBackend;
import dev.oz.worker.config.GoYamlBlock;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;

/** The {@code command} backend: its settings ({@code command} block, {@code backend.command} in YAML) and creation. */
public final class CommandBackendFactory implements BackendFactory<CommandOptions> {
  public static final String NAME = "command";

  /**
   * The shell a Go YAML block runs its commands with unless it says otherwise: the Go worker always runs them with
   * {@code /bin/sh -c}, so a file written for it keeps working unchanged.
   */
  static final String GO_SHELL = "/bin/sh";

  /** The Go worker's {@code backend.command} schema, plus {@code cancel_timeout} and {@code shell} of ours. */
  record GoCommandBlock(
      @JsonProperty("dispatch_command") String dispatchCommand,
      @JsonProperty("cancel_command") String cancelCommand,
      @JsonProperty("dispatch_timeout") String dispatchTimeout,
      @JsonProperty("cancel_timeout") String cancelTimeout,
      @JsonProperty("shell") String shell,
      @JsonProperty("environment") List<GoYamlBlock.EnvVar> environment) {
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public JsonObject fromGoYaml(GoYamlBlock yaml, Map<String, String> hostEnv) {
    GoCommandBlock c = yaml.bind(GoCommandBlock.class);
    JsonObject json = new JsonObject();
    putIfSet(json, "dispatch_command", c.dispatchCommand());
    putIfSet(json, "cancel_command", c.cancelCommand());
    putIfSet(json, "dispatch_timeout", c.dispatchTimeout());
    putIfSet(json, "cancel_timeout", c.cancelTimeout());
    json.put("shell", c.shell() == null ? GO_SHELL : c.shell());
    if (c.environment() != null) {
      json.put("environment", yaml.environment(c.environment(), hostEnv));
    }
    return json;
  }

  private static void putIfSet(JsonObject json, String key, String value) {
    if (value != null) {
      json.put(key, value);
    }
  }

  @Override
  public CommandOptions options(JsonObject block, Map<String, String> hostEnv) {
    return CommandOptions.fromJson(block, hostEnv);
  }

  @Override
  public TaskBackend create(BackendContext<CommandOptions> context) {
    return new CommandBackend(context);
  }

  /** Dispatched tasks run elsewhere: a worker shutdown leaves them (and a dispatch in flight) alone. */
  @Override
  public BackendCapabilities capabilities(CommandOptions options) {
    return new BackendCapabilities(true, options.getCancelTimeout(), false);
  }
}
