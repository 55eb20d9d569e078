package dev.oz.worker.command;

import dev.oz.worker.config.ConfigException;
import dev.oz.worker.config.ConfigJson;
import dev.oz.worker.config.EnvEntry;
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
  private String shell;

  /** Reads and validates the {@code command} block; unknown keys are errors. */
  public static CommandOptions fromJson(JsonObject block, Map<String, String> hostEnv) {
    CommandOptions o = ConfigJson.read(block, CommandOptions.class, CommandBackendFactory.NAME, hostEnv);
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
    if (shell != null && shell.isBlank()) {
      shell = null;
    }
    if (shell != null && !shell.matches("[A-Za-z0-9_./+-]+")) {
      throw new ConfigException("command.shell must be a program such as \"/bin/sh\" (it is run as <shell> -c "
          + "<command>), not \"" + shell + "\"");
    }
    argv("dispatch_command", dispatchCommand);
    if (cancelCommand != null) {
      argv("cancel_command", cancelCommand);
    }
  }

  /** The argument vector that runs {@code dispatch_command}: with {@code shell -c}, or split into words. */
  public List<String> dispatchArgv() {
    return argv("dispatch_command", dispatchCommand);
  }

  /** The argument vector that runs {@code cancel_command}; call only when there is one. */
  public List<String> cancelArgv() {
    return argv("cancel_command", cancelCommand);
  }

  private List<String> argv(String key, String command) {
    if (shell != null) {
      return List.of(shell, "-c", command);
    }
    try {
      return ShellWords.split(command);
    } catch (ShellWords.NeedsShell e) {
      throw new ConfigException("command." + key + " needs a shell (it has " + e.getMessage() + "), and command.shell "
          + "is not set: set command.shell to \"/bin/sh\" to run it as /bin/sh -c <command>, or write it as a program "
          + "and its arguments");
    }
  }

  public JsonObject toJson() {
    return ConfigJson.toJson(this);
  }

  /** Run (see {@link #getShell()}) with the task's JSON payload on stdin; exit 0 means handed off. */
  public String getDispatchCommand() {
    return dispatchCommand;
  }

  public CommandOptions setDispatchCommand(String dispatchCommand) {
    this.dispatchCommand = dispatchCommand;
    return this;
  }

  /** Run (see {@link #getShell()}) when a task is cancelled; null for none. */
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

  /**
   * The shell that runs the commands as {@code <shell> -c <command>}; null (the default of a {@code -conf} block) runs
   * them with no shell, split into a program and its arguments. The Go YAML block defaults to {@code /bin/sh}, as
   * the Go worker runs them.
   */
  public String getShell() {
    return shell;
  }

  public CommandOptions setShell(String shell) {
    this.shell = shell;
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
