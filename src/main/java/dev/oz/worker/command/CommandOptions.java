package dev.oz.worker.command;

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

/** Settings of the command backend ({@code command} in the JSON config, {@code backend.command} in the Go YAML file). */
public class CommandOptions {
  public static final Duration DEFAULT_DISPATCH_TIMEOUT = Duration.ofSeconds(60);
  /** The Go worker's bound on a backend cancel. */
  public static final Duration DEFAULT_CANCEL_TIMEOUT = Duration.ofSeconds(10);

  private String dispatchCommand;
  private String cancelCommand;
  private Duration dispatchTimeout = DEFAULT_DISPATCH_TIMEOUT;
  private Duration cancelTimeout = DEFAULT_CANCEL_TIMEOUT;
  private List<EnvEntry> environment = new ArrayList<>();

  /** Reads and validates the {@code command} block; unknown keys are errors. */
  public static CommandOptions fromJson(JsonObject block, Map<String, String> hostEnv) {
    ConfigReader r = new ConfigReader(block, CommandBackendFactory.NAME);
    CommandOptions o = new CommandOptions();
    r.string("dispatch_command", o::setDispatchCommand);
    r.string("cancel_command", o::setCancelCommand);
    r.duration("dispatch_timeout", o::setDispatchTimeout);
    r.duration("cancel_timeout", o::setCancelTimeout);
    List<EnvEntry> env = new ArrayList<>();
    List<JsonObject> entries = r.objectList("environment");
    for (int i = 0; i < entries.size(); i++) {
      String setting = r.key("environment") + "[" + i + "]";
      ConfigReader entry = new ConfigReader(entries.get(i), setting);
      entry.string("name", n -> { });
      entry.string("value", v -> { });
      entry.rejectUnknownKeys();
      env.add(EnvEntry.fromJson(setting, entries.get(i), hostEnv));
    }
    o.setEnvironment(env);
    r.rejectUnknownKeys();
    o.validate();
    return o;
  }

  public void validate() {
    if (dispatchCommand == null || dispatchCommand.isBlank()) {
      throw new ConfigException("command.dispatch_command is required: the command that hands a task to your runtime "
          + "(it reads the task as JSON on stdin)");
    }
    if (cancelCommand != null && cancelCommand.isBlank()) {
      cancelCommand = null;
    }
    if (dispatchTimeout.isNegative() || dispatchTimeout.isZero()) {
      dispatchTimeout = DEFAULT_DISPATCH_TIMEOUT; // as the Go worker: zero or less means the default
    }
    if (cancelTimeout.isNegative() || cancelTimeout.isZero()) {
      throw new ConfigException("command.cancel_timeout must be positive");
    }
  }

  public JsonObject toJson() {
    JsonObject json = new JsonObject()
        .put("dispatch_command", dispatchCommand)
        .put("dispatch_timeout", Durations.format(dispatchTimeout))
        .put("cancel_timeout", Durations.format(cancelTimeout))
        .put("environment", new JsonArray(environment.stream().map(EnvEntry::toJson).toList()));
    if (cancelCommand != null) {
      json.put("cancel_command", cancelCommand);
    }
    return json;
  }

  /** Run with {@code /bin/sh -c}, the task's JSON payload on stdin; exit 0 means handed off. */
  public String getDispatchCommand() {
    return dispatchCommand;
  }

  public CommandOptions setDispatchCommand(String dispatchCommand) {
    this.dispatchCommand = dispatchCommand;
    return this;
  }

  /** Run with {@code /bin/sh -c} when a task is cancelled; null for none. */
  public String getCancelCommand() {
    return cancelCommand;
  }

  public CommandOptions setCancelCommand(String cancelCommand) {
    this.cancelCommand = cancelCommand;
    return this;
  }

  public Duration getDispatchTimeout() {
    return dispatchTimeout;
  }

  public CommandOptions setDispatchTimeout(Duration dispatchTimeout) {
    this.dispatchTimeout = dispatchTimeout;
    return this;
  }

  public Duration getCancelTimeout() {
    return cancelTimeout;
  }

  public CommandOptions setCancelTimeout(Duration cancelTimeout) {
    this.cancelTimeout = cancelTimeout;
    return this;
  }

  public List<EnvEntry> getEnvironment() {
    return environment;
  }

  public CommandOptions setEnvironment(List<EnvEntry> environment) {
    this.environment = new ArrayList<>(environment);
    return this;
  }
}
