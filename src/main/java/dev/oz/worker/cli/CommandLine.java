package dev.oz.worker.cli;

import dev.oz.worker.config.BackendSettings;
import dev.oz.worker.config.ConfigException;
import dev.oz.worker.config.Durations;
import dev.oz.worker.config.Endpoint;
import dev.oz.worker.config.EnvEntry;
import dev.oz.worker.config.FlagValues;
import dev.oz.worker.config.WorkerOptions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The worker's command line: the Go worker's flags (same names), plus {@code -conf} as Vert.x users know it.
 * Parsing only records what was given; {@link #applyTo} lays the flags over the other config sources.
 */
public final class CommandLine {

  /** Sets one option from a flag value; {@code env} is the host environment (for bare {@code -e KEY}). */
  private interface Setter {
    void apply(WorkerOptions options, String value, Map<String, String> env);
  }

  /** One flag: its names, whether it takes a value, its help line, and how it sets an option. */
  private record Flag(List<String> names, String valueName, String help, Setter apply) {
    boolean takesValue() {
      return valueName != null;
    }
  }

  private static final List<Flag> ORDERED = new ArrayList<>();

  static {
    flag(List.of("--api-key"), "KEY", "API key for authentication (or OZ_API_KEY / WARP_API_KEY)",
        (o, v) -> o.setApiKey(v).setApiKeySource(Endpoint.KeySource.FLAG));
    flag(List.of("--worker-id"), "ID", "Worker host identifier (required via flag or config file)",
        WorkerOptions::setWorkerId);
    flag(List.of("--backend"), "NAME", "Backend type (default docker)", WorkerOptions::setBackend);
    flag(List.of("--log-level"), "LEVEL", "Log level (debug, info, warn, error)", WorkerOptions::setLogLevel);
    flag(List.of("--log-format"), "FORMAT", "Log format: text, or json for one JSON object per line",
        WorkerOptions::setLogFormat);
    flag(List.of("--one-shot"), null, "Run one task, then exit 0 (direct backend; forces concurrency 1)",
        (o, v) -> {
          // as in the Go worker, a true flag wins; false leaves the config file's value
          if (FlagValues.bool("--one-shot", v)) {
            o.setOneShot(true);
          }
        });
    flag(List.of("--collect-task-logs"), null,
        "Ship task output to the OTLP collector an assignment names (default true; --collect-task-logs=false turns it"
            + " off; or OZ_COLLECT_TASK_LOGS)",
        (o, v) -> o.setCollectTaskLogs(FlagValues.bool("--collect-task-logs", v)));
    flag(List.of("--no-cleanup"), null, "Do not remove containers after execution (for debugging)",
        (o, v) -> o.setCleanup(!FlagValues.bool("--no-cleanup", v)));
    flag(List.of("-e", "--env"), "KEY[=VALUE]",
        "Environment variable for every task (any backend); a bare KEY passes the host's value (repeatable)",
        (Setter) (o, v, env) -> {
          EnvEntry entry = EnvEntry.parseFlag(v, env);
          String looksSplit = EnvEntry.commaListNames(entry);
          if (looksSplit != null) {
            o.warn("-e " + entry.name() + ": the value looks like a comma-separated list of assignments (" + looksSplit
                + "); the Go worker would split it into separate variables, this worker keeps one variable "
                + entry.name() + " (repeat -e for each variable)");
          }
          o.putEnv(entry);
        });
    flag(List.of("--max-concurrent-tasks"), "N", "Maximum number of tasks to run concurrently (0 for unlimited)",
        (o, v) -> {
          // as in the Go worker, 0 on the command line means "not given": the config file's limit stays
          int limit = FlagValues.wholeNumber("--max-concurrent-tasks", v);
          if (limit != 0) {
            o.setMaxConcurrentTasks(limit);
          }
        });
    flag(List.of("--idle-on-complete"), "DURATION",
        "How long to keep the oz agent alive after a task completes (e.g. 45m, 10m, 0s)", WorkerOptions::setIdleOnComplete);
    flag(List.of("--ws-url", "--web-socket-url"), "URL", "Control-plane WebSocket URL (or OZ_WS_URL)",
        WorkerOptions::setWsUrl);
    flag(List.of("--server-root-url"), "URL", "Oz server root URL passed to agents (or OZ_SERVER_ROOT_URL)",
        WorkerOptions::setServerRootUrl);
    flag(List.of("--session-sharing-server-url"), "URL", "Session sharing server URL passed to the oz CLI",
        WorkerOptions::setSessionSharingServerUrl);
    flag(List.of("--metrics-port"), "PORT", "Port of /metrics, /healthz, /readyz and /status (default 9464)",
        (o, v) -> o.getMetrics().setPort(FlagValues.wholeNumber("--metrics-port", v)));
    flag(List.of("--task-timeout"), "DURATION",
        "Stop a task that runs longer than this and report it as timed out (default 0s: no limit)",
        (o, v) -> o.setTaskTimeout(Durations.parse("--task-timeout", v)));
    flag(List.of("--shutdown-grace-period"), "DURATION",
        "On SIGTERM, let running tasks finish for this long before cancelling them (default 0s)",
        (o, v) -> o.setShutdownGracePeriod(Durations.parse("--shutdown-grace-period", v)));
  }

  private static void flag(List<String> names, String valueName, String help, java.util.function.BiConsumer<WorkerOptions, String> apply) {
    flag(names, valueName, help, (o, v, env) -> apply.accept(o, v));
  }

  private static void flag(List<String> names, String valueName, String help, Setter apply) {
    Flag f = new Flag(names, valueName, help, apply);
    ORDERED.add(f);
  }

  private final String conf;
  private final String configFile;
  private final boolean help;
  private final boolean version;
  private final List<Map.Entry<Flag, String>> given;

  private CommandLine(String conf, String configFile, boolean help, boolean version, List<Map.Entry<Flag, String>> given) {
    this.conf = conf;
    this.configFile = configFile;
    this.help = help;
    this.version = version;
    this.given = given;
  }

  /**
   * The core flags, then each backend's own (a flag that several backends declare sets it in each one's block),
   * in help order.
   */
  private static Map<String, Flag> table(Map<String, ? extends BackendSettings> backends) {
    Map<String, Flag> table = new LinkedHashMap<>();
    ORDERED.forEach(f -> f.names().forEach(n -> table.put(n, f)));
    new java.util.TreeMap<>(backends).forEach((backend, settings) -> {
      for (BackendSettings.Flag bf : settings.flags()) {
        Setter own = (o, v, env) -> bf.apply().accept(o.backendBlock(backend), v);
        Flag existing = table.get(bf.names().get(0));
        Setter apply = existing == null ? own : (o, v, env) -> {
          existing.apply().apply(o, v, env);
          own.apply(o, v, env);
        };
        String help = existing == null ? bf.help() + " [" + backend + "]" : existing.help().replace("]", ", " + backend + "]");
        Flag f = new Flag(bf.names(), bf.valueName(), help, apply);
        bf.names().forEach(n -> table.put(n, f));
      }
    });
    return table;
  }

  /** Parses {@code args}; throws {@link ConfigException} naming the offending argument. */
  public static CommandLine parse(List<String> args, Map<String, ? extends BackendSettings> backends) {
    Map<String, Flag> flags = table(backends);
    String conf = null;
    String configFile = null;
    boolean help = false;
    boolean version = false;
    List<Map.Entry<Flag, String>> given = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      String name = arg;
      String inline = null;
      int eq = arg.indexOf('=');
      if (arg.startsWith("-") && eq > 0) {
        name = arg.substring(0, eq);
        inline = arg.substring(eq + 1);
      }
      switch (name) {
        case "-h", "--help", "-help" -> help = true;
        case "--version", "-version" -> version = true;
        case "-conf", "--conf" -> conf = inline != null ? inline : value(args, ++i, name);
        case "--config-file" -> configFile = inline != null ? inline : value(args, ++i, name);
        default -> {
          Flag f = flags.get(name);
          if (f == null) {
            throw new ConfigException(arg.startsWith("-")
                ? "unknown flag " + name + " (see --help)"
                : "unexpected argument \"" + arg + "\" (see --help)");
          }
          String v = f.takesValue() ? (inline != null ? inline : value(args, ++i, name)) : inline;
          given.add(Map.entry(f, v == null ? "true" : v));
        }
      }
    }
    return new CommandLine(conf, configFile, help, version, given);
  }

  private static String value(List<String> args, int i, String flag) {
    if (i >= args.size()) {
      throw new ConfigException("flag " + flag + " needs a value");
    }
    return args.get(i);
  }

  /** Applies the flags in the order given, so a repeated scalar flag takes its last value. */
  public void applyTo(WorkerOptions options, Map<String, String> env) {
    for (Map.Entry<Flag, String> e : given) {
      e.getKey().apply().apply(options, e.getValue(), env);
    }
  }

  public String conf() {
    return conf;
  }

  public String configFile() {
    return configFile;
  }

  public boolean help() {
    return help;
  }

  public boolean version() {
    return version;
  }

  static String usage(Map<String, ? extends BackendSettings> backends) {
    StringBuilder out = new StringBuilder()
        .append("Usage: java -jar worker-fat.jar [flags]\n")
        .append("       java -jar worker-fat.jar dev [flags]   (local control plane + worker, see dev --help)\n")
        .append("       java -jar worker-fat.jar healthcheck [--port N]   (exit 0 when /healthz answers)\n\n")
        .append("Self-hosted worker for Oz cloud agents: runs each task on a backend (")
        .append(String.join(", ", new java.util.TreeSet<>(backends.keySet()))).append(").\n\nFlags:\n");
    row(out, "-conf FILE|JSON", "Vert.x-style JSON configuration (a file path or inline JSON), e.g. conf/worker.json");
    row(out, "--config-file PATH", "Path to the Go worker's YAML config file");
    for (Flag f : new java.util.LinkedHashSet<>(table(backends).values())) {
      String names = String.join(", ", f.names()) + (f.takesValue() ? " " + f.valueName() : "");
      row(out, names, f.help());
    }
    row(out, "-h, --help", "Show this help");
    row(out, "--version", "Print the version and exit");
    out.append("\nPrecedence: defaults < -conf < --config-file < environment < flags.\n")
        .append("Environment: OZ_API_KEY, WARP_API_KEY, OZ_WS_URL, OZ_SERVER_ROOT_URL, OZ_COLLECT_TASK_LOGS, DOCKER_HOST, DOCKER_CONTEXT, ...\n");
    return out.toString();
  }

  private static void row(StringBuilder out, String names, String help) {
    out.append("  ").append(String.format("%-36s", names)).append(' ').append(help).append('\n');
  }
}
