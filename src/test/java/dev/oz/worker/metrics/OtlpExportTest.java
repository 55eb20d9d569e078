package dev.oz.worker.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.config.TelemetryOptions;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.protocol.FailureReason;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.testing.Assignments;
import dev.oz.worker.testing.FakeBackend;
import dev.oz.worker.testing.LogCapture;
import dev.oz.worker.testing.LoopbackControlPlane;
import dev.oz.worker.testing.OtlpReceiver;
import dev.oz.worker.testing.WorkerHarness;
import dev.oz.worker.testing.Waits;
import io.opentelemetry.exporter.internal.FailedExportException;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.metrics.v1.AggregationTemporality;
import io.opentelemetry.proto.metrics.v1.HistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import io.opentelemetry.sdk.common.CompletableResultCode;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * OpenTelemetry export of a worker running tasks on a test backend against the loopback control plane, to a
 * loopback OTLP/HTTP collector that decodes what arrives: the metric catalog and the task spans as the Go
 * worker sends them, nothing at all with {@code none}, and a collector that is gone or hangs costing tasks
 * nothing.
 */
class OtlpExportTest {
  private static final Duration WAIT = Duration.ofSeconds(15);
  private final HttpClient http = HttpClient.newHttpClient();
  private WorkerHarness h;
  private LoopbackControlPlane cp;
  private FakeBackend backend;

  @AfterEach
  void tearDown() {
    closeWorker();
  }

  private void closeWorker() {
    if (h != null) {
      h.close();
      h = null;
    }
  }

  private void deploy(Consumer<TelemetryOptions> telemetry) throws Exception {
    deploy(telemetry, o -> { });
  }

  private void deploy(Consumer<TelemetryOptions> telemetry, Consumer<WorkerOptions> customize) throws Exception {
    backend = new FakeBackend();
    h = WorkerHarness.create(backend);
    cp = h.cp;
    WorkerOptions o = h.options().setWorkerId("otel-worker").setMaxConcurrentTasks(4);
    o.getMetrics().setEnabled(true).setPort(0).setHost("127.0.0.1");
    o.setTelemetry(new TelemetryOptions()); // the harness turned export off; each test says what it wants
    telemetry.accept(o.getTelemetry());
    customize.accept(o);
    h.deploy();
  }

  private void undeploy() throws Exception {
    h.undeploy();
  }

  /** Assigns a task, lets the backend end it with {@code outcome}, and returns the terminal report's type. */
  private String runTask(String taskId, TaskOutcome outcome) {
    cp.send(Assignments.minimal(taskId));
    Waits.until(() -> backend.isRunning(taskId), WAIT, () -> taskId + " never started");
    backend.complete(taskId, outcome);
    return cp.await(m -> taskId.equals(m.getJsonObject("data").getString("task_id"))
        && ("task_completed".equals(m.getString("type")) || "task_failed".equals(m.getString("type"))), WAIT)
        .getString("type");
  }

  private static Map<String, String> attributes(List<KeyValue> kvs) {
    Map<String, String> out = new TreeMap<>();
    for (KeyValue kv : kvs) {
      AnyValue v = kv.getValue();
      out.put(kv.getKey(), v.hasStringValue() ? v.getStringValue() : v.toString().trim());
    }
    return out;
  }

  private static List<NumberDataPoint> points(Metric m) {
    return switch (m.getDataCase()) {
      case SUM -> m.getSum().getDataPointsList();
      case GAUGE -> m.getGauge().getDataPointsList();
      default -> throw new AssertionError(m.getName() + " is a " + m.getDataCase());
    };
  }

  /** The value of the point of {@code metric} with exactly {@code attrs}, if it was exported. */
  private static Optional<Long> value(OtlpReceiver otlp, String metric, Map<String, String> attrs) {
    return otlp.latest(metric).flatMap(m -> points(m).stream()
        .filter(p -> attributes(p.getAttributesList()).equals(attrs)).findFirst().map(NumberDataPoint::getAsInt));
  }

  private static long valueOf(OtlpReceiver otlp, String metric, Map<String, String> attrs) {
    return value(otlp, metric, attrs).orElseThrow(() -> new AssertionError(metric + attrs + " not exported"));
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private String scrape() throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + h.metricsPort() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  @Test
  void theCatalogAndTheTaskSpansReachTheCollector() throws Exception {
    try (OtlpReceiver otlp = OtlpReceiver.start()) {
      deploy(t -> t.set("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint())
          .set(TelemetryOptions.METRICS_EXPORTER, "otlp,prometheus")
          .set(TelemetryOptions.TRACES_EXPORTER, "otlp")
          .set(TelemetryOptions.METRIC_EXPORT_INTERVAL, "200")
          .set("OTEL_BSP_SCHEDULE_DELAY", "100")
          .set("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test"));

      assertEquals("task_completed", runTask("ok", TaskOutcome.succeeded()));
      assertEquals("task_failed", runTask("oom", TaskOutcome.failed(FailureReason.CONTAINER_OOM, "out of memory", 137)));

      Waits.until(() -> value(otlp, "oz_worker_tasks_completed_total", Map.of("result", "failed")).orElse(0L) == 1
              && value(otlp, "oz_worker_connected", Map.of()).orElse(0L) == 1,
          WAIT, () -> "final counts never exported: " + otlp.requests());
      assertEquals(2, valueOf(otlp, "oz_worker_tasks_claimed_total", Map.of()));
      assertEquals(1, valueOf(otlp, "oz_worker_tasks_completed_total", Map.of("result", "succeeded")));
      assertEquals(0, valueOf(otlp, "oz_worker_tasks_completed_total", Map.of("result", "dispatched")), "primed");
      assertEquals(1, valueOf(otlp, "oz_worker_task_failures_total", Map.of("phase", "backend", "reason", "container_oom")));
      for (String phase : List.of("assignment", "backend", "cleanup")) {
        for (FailureReason r : FailureReason.values()) {
          assertTrue(value(otlp, "oz_worker_task_failures_total", Map.of("phase", phase, "reason", r.wireName())).isPresent(),
              phase + "/" + r.wireName() + " primed");
        }
      }
      assertEquals(0, valueOf(otlp, "oz_worker_tasks_rejected_total", Map.of("reason", "at_capacity")));
      assertEquals(0, valueOf(otlp, "oz_worker_tasks_rejected_total", Map.of("reason", "backend_unavailable")));
      assertEquals(1, valueOf(otlp, "oz_worker_backend_available", Map.of()));
      assertEquals(0, valueOf(otlp, "oz_worker_backend_outages_total", Map.of()));
      assertEquals(Metric.DataCase.GAUGE, otlp.latest("oz_worker_backend_available").orElseThrow().getDataCase());
      assertEquals(0, valueOf(otlp, "oz_worker_websocket_reconnects_total", Map.of("reason", "dial_failed")));
      assertEquals(0, valueOf(otlp, "oz_worker_tasks_active", Map.of()));
      assertEquals(4, valueOf(otlp, "oz_worker_tasks_max_concurrent", Map.of()));
      assertEquals(1, valueOf(otlp, "oz_worker_info", Map.of("version", "dev", "backend", "docker", "worker_id", "otel-worker")));

      // kinds as the Go worker's instruments: counters are cumulative monotonic sums, the active count an
      // up-down counter, the rest gauges, the duration a histogram in seconds with the SDK's default boundaries
      Metric claimed = otlp.latest("oz_worker_tasks_claimed_total").orElseThrow();
      assertTrue(claimed.getSum().getIsMonotonic());
      assertEquals(AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE, claimed.getSum().getAggregationTemporality());
      assertFalse(otlp.latest("oz_worker_tasks_active").orElseThrow().getSum().getIsMonotonic());
      assertEquals(Metric.DataCase.GAUGE, otlp.latest("oz_worker_connected").orElseThrow().getDataCase());
      Metric duration = otlp.latest("oz_worker_task_duration_seconds").orElseThrow();
      assertEquals("s", duration.getUnit());
      HistogramDataPoint succeeded = duration.getHistogram().getDataPointsList().stream()
          .filter(p -> attributes(p.getAttributesList()).equals(Map.of("result", "succeeded"))).findFirst().orElseThrow();
      assertEquals(1, succeeded.getCount());
      assertEquals(List.of(0d, 5d, 10d, 25d, 50d, 75d, 100d, 250d, 500d, 750d, 1000d, 2500d, 5000d, 7500d, 10000d),
          succeeded.getExplicitBoundsList());

      var request = otlp.metricsRequests().get(otlp.metricsRequests().size() - 1);
      Map<String, String> resource = attributes(request.getResourceMetrics(0).getResource().getAttributesList());
      assertEquals("oz-agent-worker", resource.get("service.name"));
      assertEquals("otel-worker", resource.get("worker.id"));
      assertEquals("docker", resource.get("worker.backend"));
      assertEquals("test", resource.get("deployment.environment"), "OTEL_RESOURCE_ATTRIBUTES");
      assertEquals(WorkerMetrics.SCOPE, request.getResourceMetrics(0).getScopeMetrics(0).getScope().getName());

      // the same catalog under the same names as /metrics, which stays served with "prometheus" in the list
      String scrape = scrape();
      Matcher types = Pattern.compile("(?m)^# TYPE (oz_worker_\\w+) (\\w+)$").matcher(scrape);
      Map<String, String> promTypes = new TreeMap<>();
      while (types.find()) {
        if (!types.group(1).endsWith("_max")) { // Micrometer's timer maximum, which the Go catalog does not have
          promTypes.put(types.group(1), types.group(2));
        }
      }
      assertFalse(promTypes.isEmpty(), scrape);
      for (Map.Entry<String, String> family : promTypes.entrySet()) {
        Metric m = otlp.latest(family.getKey())
            .orElseThrow(() -> new AssertionError(family.getKey() + " is on /metrics but was not pushed"));
        String expected = switch (family.getValue()) {
          case "counter" -> "monotonic sum";
          case "histogram" -> "histogram";
          default -> "gauge";
        };
        String actual = switch (m.getDataCase()) {
          case SUM -> m.getSum().getIsMonotonic() ? "monotonic sum" : "gauge";
          case HISTOGRAM -> "histogram";
          case GAUGE -> "gauge";
          default -> m.getDataCase().toString();
        };
        assertEquals(expected, actual, family.getKey());
      }

      // one span per task, with the Go worker's events
      Waits.until(() -> otlp.spans().size() >= 2, WAIT, () -> "spans: " + otlp.spans());
      Map<String, Span> spans = otlp.spans().stream().collect(Collectors.toMap(
          s -> attributes(s.span().getAttributesList()).get("task.id"), OtlpReceiver.ReceivedSpan::span));
      Span ok = spans.get("ok");
      assertEquals("oz_worker.task", ok.getName());
      assertEquals(Map.of("task.id", "ok", "task.title", "Test task ok"), attributes(ok.getAttributesList()));
      assertEquals(List.of("task.assigned", "task.claimed", "task.started", "backend.started", "task.completed"),
          ok.getEventsList().stream().map(Span.Event::getName).toList());
      assertEquals(Map.of("worker.id", "otel-worker", "worker.backend", "docker", "task.id", "ok"),
          attributes(ok.getEvents(0).getAttributesList()));
      assertEquals(Status.StatusCode.STATUS_CODE_OK, ok.getStatus().getCode());
      assertTrue(ok.getParentSpanId().isEmpty(), "a root span");

      Span oom = spans.get("oom");
      assertEquals(List.of("task.assigned", "task.claimed", "task.started", "backend.started", "task.failed", "exception"),
          oom.getEventsList().stream().map(Span.Event::getName).toList());
      assertEquals(Map.of("failure.phase", "backend", "failure.reason", "container_oom", "error.message", "out of memory"),
          attributes(oom.getEvents(4).getAttributesList()));
      assertEquals(Status.StatusCode.STATUS_CODE_ERROR, oom.getStatus().getCode());
      assertEquals("container_oom", oom.getStatus().getMessage());
      assertEquals(WorkerMetrics.SCOPE, otlp.spans().get(0).scope());
      assertEquals("oz-agent-worker", attributes(otlp.spans().get(0).resource().getAttributesList()).get("service.name"));

      try (LogCapture logs = LogCapture.of(Telemetry.class.getName())) {
        undeploy();
        assertEquals(List.of(), logs.messages(), "a collector that answers: the last export makes it in time");
      }
    }
  }

  private static Span spanOf(OtlpReceiver otlp, String taskId) {
    return otlp.spans().stream().map(OtlpReceiver.ReceivedSpan::span)
        .filter(s -> taskId.equals(attributes(s.getAttributesList()).get("task.id"))).findFirst()
        .orElseThrow(() -> new AssertionError("no span for " + taskId + ": " + otlp.spans()));
  }

  private static List<String> eventNames(Span span) {
    return span.getEventsList().stream().map(Span.Event::getName).toList();
  }

  @Test
  void rejectedCancelledAndShutDownTasksHaveTheirSpansToo() throws Exception {
    try (OtlpReceiver otlp = OtlpReceiver.start()) {
      deploy(t -> t.set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", otlp.endpoint() + "/v1/traces")
          .set(TelemetryOptions.METRICS_EXPORTER, "none")
          .set(TelemetryOptions.TRACES_EXPORTER, "otlp")
          .set("OTEL_BSP_SCHEDULE_DELAY", "100")
          .set("OTEL_SERVICE_NAME", "build-farm-worker"), o -> o.setMaxConcurrentTasks(1));
      cp.send(Assignments.minimal("c1"));
      Waits.until(() -> backend.isRunning("c1"), WAIT, () -> "never started");
      cp.send(Assignments.minimal("full"));
      cp.awaitMessage("task_rejected", "full", WAIT);
      cp.send(Assignments.cancellation("c1"));
      cp.awaitMessage("task_completed", "c1", WAIT);
      cp.send(Assignments.minimal("s1"));
      Waits.until(() -> backend.isRunning("s1"), WAIT, () -> "never started");
      undeploy(); // cancels s1; the shutdown flushes the spans
      cp.awaitMessage("task_failed", "s1", WAIT);

      Span full = spanOf(otlp, "full");
      assertEquals(List.of("task.assigned", "task.rejected"), eventNames(full));
      assertEquals(Map.of("reason", "at_capacity"), attributes(full.getEvents(1).getAttributesList()));

      Span c1 = spanOf(otlp, "c1");
      assertEquals(List.of("task.assigned", "task.claimed", "task.started", "backend.started",
          "task.cancellation_requested", "task.cancelled"), eventNames(c1));
      assertEquals(Map.of("source", "server", "task.id", "c1"), attributes(c1.getEvents(4).getAttributesList()));
      assertEquals(Map.of("source", "user"), attributes(c1.getEvents(5).getAttributesList()));
      assertEquals(Status.StatusCode.STATUS_CODE_OK, c1.getStatus().getCode());

      Span s1 = spanOf(otlp, "s1");
      assertEquals(List.of("task.assigned", "task.claimed", "task.started", "backend.started",
          "task.cancellation_requested", "task.failed", "exception"), eventNames(s1));
      assertEquals(Map.of("source", "signal", "task.id", "s1"), attributes(s1.getEvents(4).getAttributesList()));
      assertEquals("graceful_shutdown", attributes(s1.getEvents(5).getAttributesList()).get("failure.reason"));
      assertEquals("graceful_shutdown", s1.getStatus().getMessage());

      assertEquals("build-farm-worker", attributes(otlp.spans().get(0).resource().getAttributesList()).get("service.name"),
          "OTEL_SERVICE_NAME wins over the default name");
      assertTrue(otlp.requests().stream().noneMatch(r -> r.endsWith("/v1/metrics")), "metrics none: " + otlp.requests());
    }
  }

  @Test
  void noneAndPrometheusPushNothing() throws Exception {
    for (String exporter : List.of("none", "prometheus")) {
      try (OtlpReceiver otlp = OtlpReceiver.start()) {
        deploy(t -> t.set("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint())
            .set(TelemetryOptions.METRICS_EXPORTER, exporter)
            .set(TelemetryOptions.METRIC_EXPORT_INTERVAL, "100"));
        assertEquals("task_completed", runTask("t-" + exporter, TaskOutcome.succeeded()));
        assertTrue(scrape().contains("oz_worker_tasks_claimed_total 1.0"), "/metrics is served with " + exporter);
        // a shutdown flushes a last export, whatever the interval: nothing may arrive by the time it is done
        undeploy();
        assertEquals(List.of(), otlp.requests(), exporter);
      } finally {
        closeWorker();
      }
    }
  }

  /** Milliseconds from each assignment to its terminal report, for {@code n} tasks that end at once. */
  private List<Long> taskLatencies(String prefix, int n) {
    List<Long> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      long start = System.nanoTime();
      assertEquals("task_completed", runTask(prefix + i, TaskOutcome.succeeded()));
      out.add((System.nanoTime() - start) / 1_000_000);
    }
    return out;
  }

  private static long median(List<Long> values) {
    List<Long> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return sorted.get(sorted.size() / 2);
  }

  private record Run(long medianTaskMs, long undeployMs, List<String> exportWarnings) {
  }

  /** Runs tasks once {@code exporting} holds (an export failed or hangs), then shuts down. */
  private Run measure(String name, Consumer<TelemetryOptions> telemetry, Predicate<LogCapture> exporting) throws Exception {
    try (LogCapture logs = LogCapture.root()) {
      deploy(telemetry);
      Waits.until(() -> exporting.test(logs), WAIT, () -> name + ": no export attempt seen: " + logs.all());
      List<Long> latencies = taskLatencies(name, 7);
      long stopStart = System.nanoTime();
      undeploy();
      long undeployMs = (System.nanoTime() - stopStart) / 1_000_000;
      List<String> warnings = logs.messages().stream()
          .filter(m -> (m.startsWith("WARN") || m.startsWith("ERROR")) && m.toLowerCase().contains("export"))
          .toList();
      return new Run(median(latencies), undeployMs, warnings);
    } finally {
      closeWorker();
    }
  }

  @Test
  void aCollectorThatIsGoneOrHangsNeverDelaysATaskAndWarnsOnce() throws Exception {
    Run baseline = measure("base", TelemetryOptions::disableExport, logs -> true);
    int closedPort = freePort();
    Run dead = measure("dead", t -> t.set("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:" + closedPort)
        .set(TelemetryOptions.TRACES_EXPORTER, "otlp")
        .set(TelemetryOptions.METRIC_EXPORT_INTERVAL, "100")
        .set("OTEL_BSP_SCHEDULE_DELAY", "100")
        .set("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
        logs -> logs.contains("export to http://127.0.0.1:" + closedPort));
    Run hung;
    try (OtlpReceiver hanging = OtlpReceiver.hanging()) {
      hung = measure("hung", t -> t.set("OTEL_EXPORTER_OTLP_ENDPOINT", hanging.endpoint())
          .set(TelemetryOptions.TRACES_EXPORTER, "otlp")
          .set(TelemetryOptions.METRIC_EXPORT_INTERVAL, "100")
          .set("OTEL_BSP_SCHEDULE_DELAY", "100"),
          logs -> !hanging.requests().isEmpty());
      assertFalse(hanging.requests().isEmpty(), "the hanging collector was reached");
    }

    for (Run r : List.of(dead, hung)) {
      // exports run on the SDK's threads: a task ends as fast as with export off (2x plus scheduling noise)
      assertTrue(r.medianTaskMs() <= 2 * baseline.medianTaskMs() + 100,
          "median task latency " + r.medianTaskMs() + " ms vs " + baseline.medianTaskMs() + " ms with export off");
      // the last export is waited for at most Telemetry.CLOSE_TIMEOUT_MS
      assertTrue(r.undeployMs() <= baseline.undeployMs() + Telemetry.CLOSE_TIMEOUT_MS + 2000,
          "undeploy took " + r.undeployMs() + " ms vs " + baseline.undeployMs() + " ms with export off");
    }
    assertEquals(List.of(), baseline.exportWarnings());
    assertEquals(1, dead.exportWarnings().size(), "one warning for many failed exports: " + dead.exportWarnings());
    assertTrue(dead.exportWarnings().get(0).contains("OpenTelemetry metrics export to http://127.0.0.1:" + closedPort
        + "/v1/metrics failed") || dead.exportWarnings().get(0).contains("OpenTelemetry traces export"), dead.exportWarnings().get(0));
    // the hanging collector's exports time out after 10 s: at most one warning (and a note that shutdown did not wait)
    assertTrue(hung.exportWarnings().stream().filter(w -> w.contains("failed:")).count() <= 1, hung.exportWarnings().toString());
  }

  @Test
  void aWorkerPushingOnlyMetricsLosesNothingWhileTheSdkLoadsAfterItConnected() throws Exception {
    try (OtlpReceiver otlp = OtlpReceiver.start(); LogCapture logs = LogCapture.of(Telemetry.class.getName())) {
      // the default export interval (a minute): only the last export, at shutdown, reaches the collector
      deploy(t -> t.set("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint()));
      assertEquals("task_completed", runTask("early", TaskOutcome.succeeded()));
      undeploy();
      assertEquals(1, otlp.metricsRequests().size(), otlp.requests().toString());
      assertEquals(1, valueOf(otlp, "oz_worker_tasks_claimed_total", Map.of()));
      assertEquals(1, valueOf(otlp, "oz_worker_tasks_completed_total", Map.of("result", "succeeded")));
      assertEquals(0, valueOf(otlp, "oz_worker_websocket_reconnects_total", Map.of("reason", "dial_failed")), "primed");
      assertFalse(logs.contains("nothing listens"), logs.all());
    }
  }

  @Test
  void withNoCollectorListeningTheShutdownSaysSoInsteadOfWaitingForTheLastExport() throws Exception {
    int closedPort = freePort();
    try (LogCapture logs = LogCapture.of(Telemetry.class.getName())) {
      deploy(t -> t.set("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:" + closedPort));
      Waits.until(() -> logs.contains("OpenTelemetry: metrics OTLP to"), WAIT, logs::all);
      undeploy(); // before any periodic export (a minute)
      assertTrue(logs.contains("WARN OpenTelemetry metrics export to http://127.0.0.1:" + closedPort
          + "/v1/metrics failed: nothing listens there; shutting down without the last export"), logs.all());
      assertFalse(logs.contains("did not finish"), logs.all());
    }
  }

  @Test
  void aCollectorThatRefusesTheExportIsNamedWithItsStatusAndGetsTheConfiguredHeaders() throws Exception {
    try (OtlpReceiver otlp = OtlpReceiver.refusing(401); LogCapture logs = LogCapture.of(Telemetry.class.getName())) {
      deploy(t -> t.set("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint())
          .set("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer collector-secret")
          .set(TelemetryOptions.METRIC_EXPORT_INTERVAL, "300"));
      Waits.until(() -> logs.contains("failed:"), WAIT, () -> "no warning: " + logs.all());
      assertEquals(List.of("Bearer collector-secret"), otlp.authorizations().stream().distinct().toList());
      assertTrue(logs.messages().get(1).startsWith("WARN OpenTelemetry metrics export to " + otlp.endpoint()
          + "/v1/metrics failed: the collector answered HTTP 401;"), logs.all());
      assertFalse(logs.all().contains("collector-secret"), "headers are credentials: never logged");
      undeploy();
    }
  }

  @Test
  void exportFailuresAreDescribedAndRateLimited() throws Exception {
    TelemetryOptions t = new TelemetryOptions().set("OTEL_EXPORTER_OTLP_ENDPOINT", "http://user:pw@collector:4318/");
    ExportFailureLog failures = new ExportFailureLog(t, TimeUnit.MILLISECONDS.toNanos(300));
    assertEquals("http://collector:4318/v1/metrics", failures.endpoint("metrics"), "no credentials in the log");
    assertEquals("http://localhost:4318/v1/traces", new ExportFailureLog(new TelemetryOptions()).endpoint("traces"));
    try (LogCapture logs = LogCapture.of(Telemetry.class.getName())) {
      for (int i = 0; i < 5; i++) {
        // as the JDK sender reports a refused connection
        failures.exported("metrics", CompletableResultCode.ofExceptionalFailure(
            FailedExportException.httpFailedExceptionally(new ConnectException("Connection refused"))));
      }
      Waits.sleep(400);
      failures.exported("metrics", CompletableResultCode.ofFailure());
      failures.exported("metrics", CompletableResultCode.ofSuccess());
      failures.stop();
      failures.exported("metrics", CompletableResultCode.ofFailure());
      List<String> lines = logs.messages().stream().filter(m -> !m.startsWith("DEBUG")).toList();
      assertEquals(3, lines.size(), lines.toString());
      assertTrue(lines.get(0).startsWith("WARN OpenTelemetry metrics export to http://collector:4318/v1/metrics failed: "
          + "ConnectException (Connection refused); the worker and its tasks are not affected"), lines.get(0));
      assertTrue(lines.get(1).contains("failed: no reason given (4 more exports failed since the last warning)"), lines.get(1));
      assertEquals("INFO OpenTelemetry metrics export to http://collector:4318/v1/metrics works again", lines.get(2));
    }
  }

  @Test
  void sdkPropertiesSpellOutTheExportersAndLeavePrometheusToTheWorker() {
    TelemetryOptions t = new TelemetryOptions().set("OTEL_METRICS_EXPORTER", "prometheus, otlp")
        .set("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://c:4318/v1/metrics").set("OTEL_METRIC_EXPORT_INTERVAL", "500");
    Map<String, String> p = Telemetry.sdkProperties(t);
    assertEquals("otlp", p.get("otel.metrics.exporter"));
    assertEquals("none", p.get("otel.traces.exporter"), "traces are off unless named, as in the Go worker");
    assertEquals("none", p.get("otel.logs.exporter"));
    assertEquals("http://c:4318/v1/metrics", p.get("otel.exporter.otlp.metrics.endpoint"));
    assertEquals("500", p.get("otel.metric.export.interval"));
    assertEquals(List.of(), new TelemetryOptions().set("OTEL_METRICS_EXPORTER", "prometheus").pushedMetricsExporters());
    assertEquals(List.of("otlp"), new TelemetryOptions().pushedMetricsExporters(), "unset: OTLP push, as the Go worker");
    assertEquals(Arrays.asList("console", "otlp"),
        new TelemetryOptions().set("OTEL_TRACES_EXPORTER", "console,otlp").pushedTracesExporters());
  }
}
