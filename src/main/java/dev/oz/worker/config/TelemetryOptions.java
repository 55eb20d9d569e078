package dev.oz.worker.config;

import com.fasterxml.jackson.annotation.JsonAnyGetter;
import com.fasterxml.jackson.annotation.JsonAnySetter;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * OpenTelemetry export ({@code telemetry} in the config): the OpenTelemetry SDK's own settings, named as
 * their environment variables ({@code OTEL_METRICS_EXPORTER}, {@code OTEL_EXPORTER_OTLP_ENDPOINT}, ...). The
 * command-line worker fills it from its {@code OTEL_*} environment; an embedding application passes the same
 * names in the {@code telemetry} object. Values the worker does not check here go to the SDK as they are.
 */
public class TelemetryOptions {
  public static final String METRICS_EXPORTER = "OTEL_METRICS_EXPORTER";
  public static final String TRACES_EXPORTER = "OTEL_TRACES_EXPORTER";
  public static final String METRIC_EXPORT_INTERVAL = "OTEL_METRIC_EXPORT_INTERVAL";
  public static final String PROMETHEUS_HOST = "OTEL_EXPORTER_PROMETHEUS_HOST";
  public static final String PROMETHEUS_PORT = "OTEL_EXPORTER_PROMETHEUS_PORT";
  /** The Go worker's defaults: metrics are pushed over OTLP, traces are off until an exporter is named. */
  public static final String DEFAULT_METRICS_EXPORTER = "otlp";
  public static final String DEFAULT_TRACES_EXPORTER = "none";

  private static final Set<String> METRICS_EXPORTERS = Set.of("otlp", "prometheus", "console", "logging", "none");
  private static final Set<String> TRACES_EXPORTERS = Set.of("otlp", "console", "logging", "none");
  private static final List<String> PROTOCOL_KEYS = List.of("OTEL_EXPORTER_OTLP_PROTOCOL",
      "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL");

  /** Any {@code OTEL_*} name is accepted when read; {@link #validate()} says which ones are not. */
  private final transient Map<String, String> settings = new TreeMap<>();

  void validate() {
    for (String name : settings.keySet()) {
      if (!name.startsWith("OTEL_") || !name.equals(name.toUpperCase(Locale.ROOT))) {
        throw new ConfigException("telemetry." + name + ": not an OpenTelemetry variable (expected a name like "
            + METRICS_EXPORTER + ")");
      }
      if (name.equals(PROMETHEUS_HOST) || name.equals(PROMETHEUS_PORT)) {
        throw new ConfigException("telemetry." + name + ": the Prometheus endpoint is the worker's own server; set "
            + "metrics.host / metrics.port (the " + name + " environment variable maps onto them)");
      }
    }
    List<String> metrics = metricsExporters();
    checkExporters(METRICS_EXPORTER, metrics, METRICS_EXPORTERS);
    checkExporters(TRACES_EXPORTER, tracesExporters(), TRACES_EXPORTERS);
    for (String key : PROTOCOL_KEYS) {
      String protocol = settings.get(key);
      if (protocol != null && !protocol.equals("http/protobuf")) {
        throw new ConfigException(key + "=" + protocol + " is not supported by this worker; use http/protobuf "
            + "(the collector's OTLP/HTTP port, 4318 by default)");
      }
    }
    String interval = settings.get(METRIC_EXPORT_INTERVAL);
    if (interval != null) {
      try {
        if (Long.parseLong(interval.trim()) <= 0) {
          throw new NumberFormatException();
        }
      } catch (NumberFormatException e) {
        throw new ConfigException(METRIC_EXPORT_INTERVAL + " must be a positive number of milliseconds, got \""
            + interval + "\"");
      }
    }
  }

  private static void checkExporters(String key, List<String> names, Set<String> known) {
    for (String n : names) {
      if (!known.contains(n)) {
        throw new ConfigException(key + ": unknown exporter \"" + n + "\" (valid: "
            + String.join(", ", new java.util.TreeSet<>(known)) + ")");
      }
    }
    if (names.contains("none") && names.size() > 1) {
      throw new ConfigException(key + ": \"none\" cannot be combined with other exporters");
    }
  }

  private static List<String> list(String value, String fallback) {
    List<String> out = new ArrayList<>();
    for (String part : (value == null ? fallback : value).split(",")) {
      String p = part.trim().toLowerCase(Locale.ROOT);
      if (!p.isEmpty()) {
        out.add(p);
      }
    }
    return out.isEmpty() ? List.of(fallback) : out;
  }

  /** {@code OTEL_METRICS_EXPORTER} as a list; unset means {@code otlp}, as for the Go worker. */
  public List<String> metricsExporters() {
    return list(settings.get(METRICS_EXPORTER), DEFAULT_METRICS_EXPORTER);
  }

  /** {@code OTEL_TRACES_EXPORTER} as a list; unset means {@code none}, as for the Go worker. */
  public List<String> tracesExporters() {
    return list(settings.get(TRACES_EXPORTER), DEFAULT_TRACES_EXPORTER);
  }

  /**
   * The metric exporters the OpenTelemetry SDK runs: {@code prometheus} is left out, since the worker's own
   * server always serves {@code /metrics}.
   */
  public List<String> pushedMetricsExporters() {
    List<String> out = new ArrayList<>(metricsExporters());
    out.removeAll(List.of("prometheus", "none"));
    return out;
  }

  /** The trace exporters the SDK runs (empty: no spans are made). */
  public List<String> pushedTracesExporters() {
    List<String> out = new ArrayList<>(tracesExporters());
    out.remove("none");
    return out;
  }

  public JsonObject toJson() {
    return ConfigJson.toJson(this);
  }

  /** Every setting, by its environment-variable name. */
  @JsonAnyGetter
  public Map<String, String> getSettings() {
    return Collections.unmodifiableMap(settings);
  }

  public String get(String name) {
    return settings.get(name);
  }

  /** Sets one variable ({@code OTEL_...}); null removes it. */
  @JsonAnySetter
  public TelemetryOptions set(String name, String value) {
    if (value == null) {
      settings.remove(name);
    } else {
      settings.put(name, value);
    }
    return this;
  }

  /** No export at all: neither metrics nor traces leave the process (the Prometheus endpoint stays). */
  public TelemetryOptions disableExport() {
    return set(METRICS_EXPORTER, "none").set(TRACES_EXPORTER, "none");
  }
}
