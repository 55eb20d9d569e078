package dev.oz.worker.metrics;

import dev.oz.worker.bus.Deadline;
import dev.oz.worker.config.TelemetryOptions;
import dev.oz.worker.config.WorkerOptions;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.resources.Resource;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker's OpenTelemetry SDK: metrics pushed over OTLP (or to the console) and task spans, configured by
 * the SDK's autoconfigure module from the worker's {@link TelemetryOptions} (the {@code OTEL_*} variables).
 * Each worker has its own SDK, nothing is registered globally, and {@link #close} shuts it down. When nothing
 * is exported, the SDK is not even loaded.
 *
 * <p>The worker's own choices on top of the SDK's: {@code prometheus} is served by the worker's
 * {@code /metrics}, never by an SDK server; traces are off unless {@code OTEL_TRACES_EXPORTER} names an
 * exporter, and logs are never exported (as in the Go worker); the service is called {@code oz-agent-worker}
 * unless {@code OTEL_SERVICE_NAME} or {@code OTEL_RESOURCE_ATTRIBUTES} say otherwise; an export that fails
 * gives one warning a minute ({@link ExportFailureLog}), never a failed task.
 */
public final class Telemetry {
  private static final Logger log = LoggerFactory.getLogger(Telemetry.class);
  /** How long undeploying waits for the last export before going on without it. */
  static final long CLOSE_TIMEOUT_MS = 5_000;
  static final long DOWN_CLOSE_TIMEOUT_MS = 1_000;
  static final long NO_COLLECTOR_CLOSE_TIMEOUT_MS = 200;
  static final String SERVICE_NAME = "oz-agent-worker";
  private static final AttributeKey<String> SERVICE_NAME_KEY = AttributeKey.stringKey("service.name");

  /** Nothing exported: no SDK. */
  public static final Telemetry OFF = new Telemetry(null, null, TaskTracer.NOOP, null, null);

  private final OpenTelemetrySdk sdk;
  private final OtelWorkerMetrics metrics;
  private final TaskTracer tracer;
  private final ExportFailureLog failures;
  private final TelemetryOptions options;

  private Telemetry(OpenTelemetrySdk sdk, OtelWorkerMetrics metrics, TaskTracer tracer, ExportFailureLog failures,
      TelemetryOptions options) {
    this.sdk = sdk;
    this.options = options;
    this.metrics = metrics;
    this.tracer = tracer;
    this.failures = failures;
  }

  /**
   * Builds the SDK on a worker thread (loading and configuring it takes a moment). A configuration the SDK
   * refuses does not stop the worker, as in the Go worker: it runs without export and says why.
   */
  public static Future<Telemetry> start(Vertx vertx, WorkerOptions options, String version) {
    TelemetryOptions t = options.getTelemetry();
    if (t.pushedMetricsExporters().isEmpty() && t.pushedTracesExporters().isEmpty()) {
      return Future.succeededFuture(OFF);
    }
    return vertx.executeBlocking(() -> build(options, version), false)
        .recover(err -> {
          log.error("OpenTelemetry export is off: {}", causes(err));
          log.debug("OpenTelemetry configuration failed", err);
          return Future.succeededFuture(OFF);
        });
  }

  /**
   * As {@link #start}, for a worker that stops before the SDK was loaded: the SDK loads (for the last export) only
   * when that export can be delivered, not when every exporter is OTLP and nothing listens at the collector's address.
   */
  public static Future<Telemetry> startForLastExport(Vertx vertx, WorkerOptions options, String version) {
    TelemetryOptions t = options.getTelemetry();
    List<String> signals = otlpSignals(t);
    boolean onlyOtlp = t.pushedMetricsExporters().stream().allMatch("otlp"::equals)
        && t.pushedTracesExporters().stream().allMatch("otlp"::equals);
    if (!onlyOtlp || signals.isEmpty()) {
      return start(vertx, options, version);
    }
    ExportFailureLog endpoints = new ExportFailureLog(t);
    return nothingListens(vertx, signals, endpoints)
        .compose(none -> none ? Future.succeededFuture(OFF) : start(vertx, options, version));
  }

  /** The signals exported over OTLP. */
  private static List<String> otlpSignals(TelemetryOptions t) {
    List<String> signals = new ArrayList<>();
    if (t.pushedMetricsExporters().contains("otlp")) {
      signals.add("metrics");
    }
    if (t.pushedTracesExporters().contains("otlp")) {
      signals.add("traces");
    }
    return signals;
  }

  /** True, with a warning, when nothing listens at any of the collector addresses of {@code signals}. */
  private static Future<Boolean> nothingListens(Vertx vertx, List<String> signals, ExportFailureLog endpoints) {
    List<Future<Boolean>> probes = signals.stream().map(s -> CollectorProbe.listens(vertx, endpoints.endpoint(s))).toList();
    return Future.all(probes).map(all -> {
      if (probes.stream().anyMatch(Future::result)) {
        return false;
      }
      log.warn("OpenTelemetry {} export to {} failed: nothing listens there; shutting down without the last export",
          String.join(" and ", signals), String.join(", ", signals.stream().map(endpoints::endpoint).toList()));
      return true;
    });
  }

  /** The SDK wraps what went wrong ("Unexpected configuration error"): the whole chain says it. */
  private static String causes(Throwable err) {
    StringBuilder out = new StringBuilder(String.valueOf(err.getMessage()));
    for (Throwable c = err.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
      out.append(": ").append(c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage());
    }
    return out.toString();
  }

  private static Telemetry build(WorkerOptions options, String version) {
    OtelJulLogging.install();
    TelemetryOptions t = options.getTelemetry();
    List<String> metricsExporters = t.pushedMetricsExporters();
    List<String> tracesExporters = t.pushedTracesExporters();
    ExportFailureLog failures = new ExportFailureLog(t);
    Map<String, String> properties = sdkProperties(t);
    OpenTelemetrySdk sdk = AutoConfiguredOpenTelemetrySdk.builder()
        .disableShutdownHook() // the worker's undeploy shuts it down
        .addPropertiesCustomizer(config -> properties)
        .addResourceCustomizer((resource, config) -> resource(resource, options, version))
        .addMetricExporterCustomizer((exporter, config) -> {
          failures.resolvedBy(config);
          return failures.watch(exporter);
        })
        .addSpanExporterCustomizer((exporter, config) -> {
          failures.resolvedBy(config);
          return failures.watch(exporter);
        })
        .build()
        .getOpenTelemetrySdk();
    OtelWorkerMetrics metrics = metricsExporters.isEmpty() ? null : new OtelWorkerMetrics(
        sdk.getMeterProvider().get(WorkerMetrics.SCOPE), options.getWorkerId(), options.getBackend(), version,
        options.getMaxConcurrentTasks());
    TaskTracer tracer = tracesExporters.isEmpty() ? TaskTracer.NOOP
        : new OtelTaskTracer(sdk.getTracerProvider().get(WorkerMetrics.SCOPE), options.getWorkerId(),
            options.getBackend());
    log.info("OpenTelemetry: metrics {}, traces {}", describe(metricsExporters, failures, "metrics"),
        describe(tracesExporters, failures, "traces"));
    return new Telemetry(sdk, metrics, tracer, failures, t);
  }

  private static String describe(List<String> exporters, ExportFailureLog failures, String signal) {
    if (exporters.isEmpty()) {
      return "off";
    }
    return String.join(", ", exporters.stream()
        .map(e -> e.equals("otlp") ? "OTLP to " + failures.endpoint(signal) : e).toList());
  }

  /**
   * What autoconfigure sees, overriding the process's own {@code OTEL_*} variables and {@code otel.*} system
   * properties: the worker's settings, with the exporters it runs and the OTLP protocol spelled out.
   */
  static Map<String, String> sdkProperties(TelemetryOptions t) {
    Map<String, String> p = new HashMap<>();
    t.getSettings().forEach((name, value) -> p.put(name.toLowerCase(Locale.ROOT).replace('_', '.'), value));
    // the Java SDK's default is grpc, the Go worker's (and the only one here) http/protobuf
    p.putIfAbsent("otel.exporter.otlp.protocol", "http/protobuf");
    p.put("otel.metrics.exporter", exporters(t.pushedMetricsExporters()));
    p.put("otel.traces.exporter", exporters(t.pushedTracesExporters()));
    p.put("otel.logs.exporter", "none");
    return p;
  }

  private static String exporters(List<String> names) {
    return names.isEmpty() ? "none" : String.join(",", names);
  }

  private static Resource resource(Resource fromSdk, WorkerOptions options, String version) {
    Resource r = fromSdk;
    String name = r.getAttribute(SERVICE_NAME_KEY);
    if (name == null || name.startsWith("unknown_service")) {
      r = r.merge(Resource.create(Attributes.of(SERVICE_NAME_KEY, SERVICE_NAME)));
    }
    return r.merge(Resource.create(Attributes.of(AttributeKey.stringKey("service.version"), version,
        AttributeKey.stringKey("worker.id"), options.getWorkerId(),
        AttributeKey.stringKey("worker.backend"), options.getBackend())));
  }

  /** The OTLP side of the metric catalog; {@link WorkerMetrics#NOOP} when metrics are not pushed. */
  public WorkerMetrics metrics() {
    return metrics == null ? WorkerMetrics.NOOP : metrics;
  }

  public TaskTracer tracer() {
    return tracer;
  }

  /**
   * Flushes and shuts the SDK down; completes when that is done or after {@link #CLOSE_TIMEOUT_MS}, whichever
   * comes first (a collector that does not answer costs the last export, never the shutdown). When no export has
   * finished yet and nothing listens at the collector's address (the default localhost:4318 without a collector),
   * the wait is {@link #NO_COLLECTOR_CLOSE_TIMEOUT_MS}: the exporter would spend its whole retry budget otherwise.
   * Never fails. Call on a Vert.x context.
   */
  public Future<Void> close(Vertx vertx) {
    if (sdk == null) {
      return Future.succeededFuture();
    }
    Context context = vertx.getOrCreateContext();
    Promise<Void> shutDown = Promise.promise();
    // a thread of its own rather than a Vert.x worker: the SDK's shutdown may outlast the wait, and Vert.x too
    Thread closing = new Thread(() -> {
      try {
        if (metrics != null) {
          metrics.close();
        }
        CompletableResultCode result = sdk.shutdown();
        // completed on an SDK thread: back to the worker's context before anything continues
        result.whenComplete(() -> onContext(context, shutDown::tryComplete));
      } catch (RuntimeException e) {
        onContext(context, () -> shutDown.tryFail(e));
      }
    }, "oz-otel-shutdown");
    closing.setDaemon(true);
    closing.start();
    return lastExportWait(vertx)
        .compose(bound -> Deadline.atMost(vertx, shutDown.future(), bound, () -> {
          if (bound != NO_COLLECTOR_CLOSE_TIMEOUT_MS) { // else already said
            log.warn("OpenTelemetry: the last export did not finish within {} ms; shutting down without it", bound);
          }
        }))
        .onComplete(v -> failures.stop());
  }

  /** Vert.x may be closed by the time the SDK is done: then nobody waits for it any more. */
  private static void onContext(Context context, Runnable action) {
    try {
      context.runOnContext(v -> action.run());
    } catch (RejectedExecutionException closed) {
      // nothing to do
    }
  }

  /** How long to wait for the last export. */
  private Future<Long> lastExportWait(Vertx vertx) {
    // a collector that has been failing gets a short last chance: it would cost the exporter's whole retry budget
    if (failures.collectorDown()) {
      return Future.succeededFuture(DOWN_CLOSE_TIMEOUT_MS);
    }
    // no export finished yet: whether a collector listens is not known
    List<String> signals = failures.noExportFinished() ? otlpSignals(options) : List.of();
    if (signals.isEmpty()) {
      return Future.succeededFuture(CLOSE_TIMEOUT_MS);
    }
    return nothingListens(vertx, signals, failures).map(none -> none ? NO_COLLECTOR_CLOSE_TIMEOUT_MS : CLOSE_TIMEOUT_MS);
  }
}
