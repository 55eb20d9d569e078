package dev.oz.worker.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.cli.CommandLineAccess;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The OTEL_* settings, the metrics server's bind and the /status token, from every source. */
class TelemetryConfigTest {

  private static WorkerOptions load(String conf, Map<String, String> env, String... flags) {
    List<String> all = new ArrayList<>(List.of("--api-key", "k", "--worker-id", "w"));
    all.addAll(List.of(flags));
    return CommandLineAccess.load(all, conf, null, env);
  }

  private static String error(String conf, Map<String, String> env, String... flags) {
    return assertThrows(ConfigException.class, () -> load(conf, env, flags)).getMessage();
  }

  @Test
  void defaultsAreTheGoWorkers() {
    WorkerOptions o = load(null, Map.of());
    assertEquals("localhost", o.getMetrics().getHost(), "where the Go worker's Prometheus exporter binds");
    assertEquals(9464, o.getMetrics().getPort());
    assertNull(o.getMetrics().getStatusToken());
    assertEquals(List.of("otlp"), o.getTelemetry().pushedMetricsExporters(), "unset: OTLP push");
    assertEquals(List.of(), o.getTelemetry().pushedTracesExporters(), "unset: no traces");
  }

  @Test
  void otelVariablesOfTheEnvironmentReachTheOptions() {
    WorkerOptions o = load(null, Map.of(
        "OTEL_METRICS_EXPORTER", "prometheus,otlp",
        "OTEL_TRACES_EXPORTER", "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318",
        "OTEL_SERVICE_NAME", "builders",
        "OTEL_EXPORTER_PROMETHEUS_HOST", "0.0.0.0",
        "OTEL_EXPORTER_PROMETHEUS_PORT", "9100",
        "OTEL_RESOURCE_ATTRIBUTES", "",
        "PATH", "/bin"));
    assertEquals(Map.of("OTEL_METRICS_EXPORTER", "prometheus,otlp", "OTEL_TRACES_EXPORTER", "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", "OTEL_SERVICE_NAME", "builders"),
        o.getTelemetry().getSettings(), "empty values count as unset; the Prometheus bind is the server's");
    assertEquals(List.of("otlp"), o.getTelemetry().pushedMetricsExporters(), "prometheus is the worker's own /metrics");
    assertEquals("0.0.0.0", o.getMetrics().getHost());
    assertEquals(9100, o.getMetrics().getPort());
  }

  @Test
  void metricsBindPrecedenceConfThenOtelEnvironmentThenFlag() {
    String conf = "{\"metrics\": {\"host\": \"127.0.0.1\", \"port\": 9000}}";
    assertEquals(9000, load(conf, Map.of()).getMetrics().getPort());
    WorkerOptions env = load(conf, Map.of("OTEL_EXPORTER_PROMETHEUS_PORT", "9100"));
    assertEquals(9100, env.getMetrics().getPort());
    assertEquals("127.0.0.1", env.getMetrics().getHost());
    assertEquals(9200, load(conf, Map.of("OTEL_EXPORTER_PROMETHEUS_PORT", "9100"), "--metrics-port", "9200")
        .getMetrics().getPort());
  }

  @Test
  void telemetryBlockInTheConfAndTheEnvironmentOverIt() {
    String conf = "{\"telemetry\": {\"OTEL_METRICS_EXPORTER\": \"none\", \"OTEL_TRACES_EXPORTER\": \"otlp\"}}";
    WorkerOptions fromConf = load(conf, Map.of());
    assertEquals(List.of(), fromConf.getTelemetry().pushedMetricsExporters());
    assertEquals(List.of("otlp"), fromConf.getTelemetry().pushedTracesExporters());
    WorkerOptions env = load(conf, Map.of("OTEL_METRICS_EXPORTER", "console"));
    assertEquals(List.of("console"), env.getTelemetry().pushedMetricsExporters());
    assertEquals("otlp", env.getTelemetry().get("OTEL_TRACES_EXPORTER"));
  }

  @Test
  void theSampleConfSpellsOutTheDefaults() {
    WorkerOptions sample = load("conf/worker.json", Map.of());
    WorkerOptions defaults = load(null, Map.of());
    assertEquals(defaults.getTelemetry().pushedMetricsExporters(), sample.getTelemetry().pushedMetricsExporters());
    assertEquals(defaults.getTelemetry().pushedTracesExporters(), sample.getTelemetry().pushedTracesExporters());
    assertEquals(defaults.getMetrics().toJson(), sample.getMetrics().toJson());
  }

  @Test
  void statusTokenFromConfOrEnvironment() {
    assertEquals("from-conf", load("{\"metrics\": {\"status_token\": \"from-conf\"}}", Map.of())
        .getMetrics().getStatusToken());
    assertEquals("from-env", load("{\"metrics\": {\"status_token\": \"from-conf\"}}", Map.of("OZ_STATUS_TOKEN", "from-env"))
        .getMetrics().getStatusToken());
  }

  @Test
  void validationMessages() {
    assertEquals("OTEL_METRICS_EXPORTER: unknown exporter \"zipkin\" (valid: console, logging, none, otlp, prometheus)",
        error(null, Map.of("OTEL_METRICS_EXPORTER", "otlp,zipkin")));
    assertEquals("OTEL_TRACES_EXPORTER: unknown exporter \"jaeger\" (valid: console, logging, none, otlp)",
        error(null, Map.of("OTEL_TRACES_EXPORTER", "jaeger")));
    assertEquals("OTEL_METRICS_EXPORTER: \"none\" cannot be combined with other exporters",
        error(null, Map.of("OTEL_METRICS_EXPORTER", "none,otlp")));
    assertEquals("OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported by this worker; use http/protobuf (the "
        + "collector's OTLP/HTTP port, 4318 by default)", error(null, Map.of("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")));
    assertTrue(error(null, Map.of("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")).startsWith("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc"));
    assertEquals("OTEL_METRIC_EXPORT_INTERVAL must be a positive number of milliseconds, got \"60s\"",
        error(null, Map.of("OTEL_METRIC_EXPORT_INTERVAL", "60s")));
    assertEquals("OTEL_EXPORTER_PROMETHEUS_PORT must be a port number, got \"metrics\"",
        error(null, Map.of("OTEL_EXPORTER_PROMETHEUS_PORT", "metrics")));
    assertEquals("telemetry.OTEL_EXPORTER_PROMETHEUS_PORT: the Prometheus endpoint is the worker's own server; set "
        + "metrics.host / metrics.port (the OTEL_EXPORTER_PROMETHEUS_PORT environment variable maps onto them)",
        error("{\"telemetry\": {\"OTEL_EXPORTER_PROMETHEUS_PORT\": \"1\"}}", Map.of()));
    assertEquals("telemetry.metrics_exporter: not an OpenTelemetry variable (expected a name like OTEL_METRICS_EXPORTER)",
        error("{\"telemetry\": {\"metrics_exporter\": \"none\"}}", Map.of()));
    assertEquals("telemetry.OTEL_METRIC_EXPORT_INTERVAL must be a string, got 100",
        error("{\"telemetry\": {\"OTEL_METRIC_EXPORT_INTERVAL\": 100}}", Map.of()));
    assertEquals("metrics.status_token must not be blank (leave it unset for an open /status)",
        error("{\"metrics\": {\"status_token\": \" \"}}", Map.of()));
  }

  @Test
  void credentialsStayOutOfToString() {
    WorkerOptions o = load("{\"metrics\": {\"status_token\": \"status-secret\"}}",
        Map.of("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer otlp-secret",
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-key=metrics-secret"));
    assertFalse(o.toString().contains("secret"), o.toString());
    assertTrue(o.toString().contains("OTEL_EXPORTER_OTLP_HEADERS"), o.toString());
  }

  @Test
  void jsonRoundTrip() {
    WorkerOptions o = load("{\"metrics\": {\"status_token\": \"t\"}}", Map.of("OTEL_TRACES_EXPORTER", "otlp"));
    WorkerOptions back = WorkerOptions.fromJson(o.toJson()).validate();
    assertEquals(o.toJson(), back.toJson());
    assertEquals(new JsonObject().put("OTEL_TRACES_EXPORTER", "otlp"), back.toJson().getJsonObject("telemetry"));
  }
}
