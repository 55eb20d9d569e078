package dev.oz.worker.config;

import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Builds {@link WorkerOptions} from every source, lowest to highest precedence: built-in defaults,
 * {@code -conf} JSON (file or inline), the Go worker's YAML ({@code --config-file}), environment variables,
 * then command-line flags. Validates the result.
 */
public final class WorkerConfigLoader {

  private WorkerConfigLoader() {
  }

  /**
   * @param conf the {@code -conf} value (path or inline JSON), or null
   * @param yamlFile the {@code --config-file} path, or null
   * @param env the process environment
   * @param flags applies the command-line flags on top of everything else
   * @param backends the registered backends, which read their own blocks
   */
  public static WorkerOptions load(String conf, Path yamlFile, Map<String, String> env, Consumer<WorkerOptions> flags,
      Map<String, ? extends BackendSettings> backends) {
    JsonObject json = new JsonObject();
    if (conf != null) {
      json = deepMerge(json, ConfigFiles.readConf(conf));
    }
    if (yamlFile != null) {
      json = deepMerge(json, GoYamlConfig.read(yamlFile, env, Map.copyOf(backends)));
    }
    WorkerOptions options = WorkerOptions.fromJson(json, env);
    applyEnvironment(options, env);
    flags.accept(options);
    return options.validate(backends);
  }

  /**
   * {@code OZ_API_KEY} wins over the hosted name {@code WARP_API_KEY}; empty values count as unset. Every
   * {@code OTEL_*} variable goes to the telemetry options, except the Prometheus host and port, which place the
   * worker's own metrics server.
   */
  static void applyEnvironment(WorkerOptions options, Map<String, String> env) {
    for (Endpoint.KeySource source : List.of(Endpoint.KeySource.OZ_API_KEY, Endpoint.KeySource.WARP_API_KEY)) {
      String key = firstSet(env, source.name());
      if (key != null) {
        options.setApiKey(key).setApiKeySource(source);
        break;
      }
    }
    String ws = firstSet(env, "OZ_WS_URL");
    if (ws != null) {
      options.setWsUrl(ws);
    }
    String root = firstSet(env, "OZ_SERVER_ROOT_URL");
    if (root != null) {
      options.setServerRootUrl(root);
    }
    String collect = firstSet(env, "OZ_COLLECT_TASK_LOGS");
    if (collect != null) {
      options.setCollectTaskLogs(parseBool("OZ_COLLECT_TASK_LOGS", collect));
    }
    String statusToken = firstSet(env, "OZ_STATUS_TOKEN");
    if (statusToken != null) {
      options.getMetrics().setStatusToken(statusToken);
    }
    applyOtelEnvironment(options, env);
  }

  private static void applyOtelEnvironment(WorkerOptions options, Map<String, String> env) {
    for (Map.Entry<String, String> e : new java.util.TreeMap<>(env).entrySet()) {
      String name = e.getKey();
      if (!name.startsWith("OTEL_") || e.getValue() == null || e.getValue().isEmpty()) {
        continue;
      }
      switch (name) {
        case TelemetryOptions.PROMETHEUS_HOST -> options.getMetrics().setHost(e.getValue());
        case TelemetryOptions.PROMETHEUS_PORT -> {
          try {
            options.getMetrics().setPort(Integer.parseInt(e.getValue().trim()));
          } catch (NumberFormatException ex) {
            throw new ConfigException(name + " must be a port number, got \"" + e.getValue() + "\"");
          }
        }
        default -> options.getTelemetry().set(name, e.getValue());
      }
    }
  }

  /** Go's {@code strconv.ParseBool}: 1, t, T, TRUE, true, True and their false counterparts. */
  static boolean parseBool(String name, String value) {
    return switch (value.trim()) {
      case "1", "t", "T", "TRUE", "true", "True" -> true;
      case "0", "f", "F", "FALSE", "false", "False" -> false;
      default -> throw new ConfigException(name + ": expected true or false, got \"" + value + "\"");
    };
  }

  private static String firstSet(Map<String, String> env, String... names) {
    for (String n : names) {
      String v = env.get(n);
      if (v != null && !v.isEmpty()) {
        return v;
      }
    }
    return null;
  }

  /** Objects merge key by key; any other value (lists included) from {@code top} replaces the one below. */
  static JsonObject deepMerge(JsonObject base, JsonObject top) {
    JsonObject out = base.copy();
    for (Map.Entry<String, Object> e : top) {
      Object below = out.getValue(e.getKey());
      if (below instanceof JsonObject && e.getValue() instanceof JsonObject) {
        out.put(e.getKey(), deepMerge((JsonObject) below, (JsonObject) e.getValue()));
      } else {
        out.put(e.getKey(), e.getValue());
      }
    }
    return out;
  }
}
