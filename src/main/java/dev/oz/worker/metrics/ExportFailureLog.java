package dev.oz.worker.metrics;

import dev.oz.worker.config.TelemetryOptions;
import io.opentelemetry.exporter.internal.FailedExportException;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.common.export.MemoryMode;
import io.opentelemetry.sdk.metrics.Aggregation;
import io.opentelemetry.sdk.metrics.InstrumentType;
import io.opentelemetry.sdk.metrics.data.AggregationTemporality;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker's export failures: the first gives a warning, then at most one a minute (with how many failed in
 * between); the rest go to debug. Exports run on the SDK's own threads, so a collector that is down or hangs
 * costs telemetry, never a task. (The SDK's own java.util.logging messages about the same failures are kept
 * at debug by {@link OtelJulLogging}.)
 */
final class ExportFailureLog {
  static final long WARNING_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);
  private static final Logger log = LoggerFactory.getLogger(Telemetry.class);

  private final TelemetryOptions options;
  private final long intervalNanos;
  private final AtomicInteger exportsFinished = new AtomicInteger();
  private volatile ConfigProperties sdkConfig;
  /** Signals whose failure was warned about and that have not worked since. */
  private final Set<String> warnedAbout = new HashSet<>();
  private boolean warnedOnce;
  private boolean stopped;
  private long lastWarning;
  private int failedSinceWarning;

  ExportFailureLog(TelemetryOptions options) {
    this(options, WARNING_INTERVAL_NANOS);
  }

  ExportFailureLog(TelemetryOptions options, long intervalNanos) {
    this.options = options;
    this.intervalNanos = intervalNanos;
  }

  /**
   * The SDK's view of the settings once it has built an exporter: the worker's options with the process's
   * {@code OTEL_*} variables and {@code otel.*} properties filling in, so {@link #endpoint} names where data really goes.
   */
  void resolvedBy(ConfigProperties config) {
    sdkConfig = config;
  }

  private String setting(String name) {
    ConfigProperties config = sdkConfig;
    return config == null ? options.get(name)
        : config.getString(name.toLowerCase(java.util.Locale.ROOT).replace('_', '.'));
  }

  /** Where OTLP sends {@code signal} ({@code metrics}, {@code traces}), by the SDK's rules, without credentials. */
  String endpoint(String signal) {
    String specific = setting("OTEL_EXPORTER_OTLP_" + signal.toUpperCase(java.util.Locale.ROOT) + "_ENDPOINT");
    String url;
    if (specific != null) {
      url = specific;
    } else {
      String base = setting("OTEL_EXPORTER_OTLP_ENDPOINT");
      base = base == null ? "http://localhost:4318" : base;
      url = (base.endsWith("/") ? base : base + "/") + "v1/" + signal;
    }
    try {
      URI u = URI.create(url);
      return u.getUserInfo() == null ? url : new URI(u.getScheme(), null, u.getHost(), u.getPort(), u.getPath(),
          null, null).toString();
    } catch (Exception e) {
      return url;
    }
  }

  void exported(String signal, CompletableResultCode result) {
    result.whenComplete(() -> {
      exportsFinished.incrementAndGet();
      if (result.isSuccess()) {
        succeeded(signal);
      } else {
        failed(signal, result.getFailureThrowable());
      }
    });
  }

  private synchronized void succeeded(String signal) {
    if (warnedAbout.remove(signal)) {
      log.info("OpenTelemetry {} export to {} works again", signal, endpoint(signal));
    }
  }

  /** Some signal's last export failed: a final export at shutdown will most likely fail too. */
  synchronized boolean collectorDown() {
    return !warnedAbout.isEmpty();
  }

  /** No export has succeeded or failed yet: whether a collector listens is not known. */
  boolean noExportFinished() {
    return exportsFinished.get() == 0;
  }

  /** After the worker's shutdown: what the SDK's threads still report is no longer the operator's concern. */
  synchronized void stop() {
    stopped = true;
  }

  private synchronized void failed(String signal, Throwable cause) {
    long now = System.nanoTime();
    String why = describe(cause);
    if (stopped || (warnedOnce && now - lastWarning < intervalNanos)) {
      failedSinceWarning++;
      log.debug("OpenTelemetry {} export to {} failed: {}", signal, endpoint(signal), why);
      return;
    }
    String since = failedSinceWarning > 0 ? " (" + failedSinceWarning + " more exports failed since the last warning)" : "";
    log.warn("OpenTelemetry {} export to {} failed: {}{}; the worker and its tasks are not affected, the data is "
        + "dropped (at most one such warning a minute)", signal, endpoint(signal), why, since);
    warnedOnce = true;
    warnedAbout.add(signal);
    lastWarning = now;
    failedSinceWarning = 0;
  }

  /** The cause in a few words: the collector's HTTP status, or the first exception that is not a wrapper. */
  static String describe(Throwable t) {
    if (t == null) {
      return "no reason given";
    }
    if (t instanceof FailedExportException.HttpExportException h && h.failedWithResponse() && h.getResponse() != null) {
      return "the collector answered HTTP " + h.getResponse().getStatusCode();
    }
    Throwable cause = t;
    while ((cause instanceof FailedExportException || cause instanceof CompletionException
        || cause instanceof UncheckedIOException) && cause.getCause() != null) {
      cause = cause.getCause();
    }
    String message = cause.getMessage();
    return cause.getClass().getSimpleName() + (message == null || message.isBlank() ? "" : " (" + message + ")");
  }

  /** {@code exporter}, with its failures reported here and only the worker's own metrics passed on. */
  MetricExporter watch(MetricExporter exporter) {
    return new WatchedMetricExporter(exporter, this);
  }

  SpanExporter watch(SpanExporter exporter) {
    return new WatchedSpanExporter(exporter, this);
  }

  private static CompletableResultCode track(ExportFailureLog log, String signal, Supplier<CompletableResultCode> export) {
    CompletableResultCode result;
    try {
      result = export.get();
    } catch (RuntimeException e) {
      result = CompletableResultCode.ofExceptionalFailure(e);
    }
    log.exported(signal, result);
    return result;
  }

  /**
   * Also keeps the export to the worker's catalog: the SDK measures its own span processor into the same
   * meter provider, which the Go worker's exports do not carry.
   */
  private record WatchedMetricExporter(MetricExporter delegate, ExportFailureLog failures) implements MetricExporter {
    @Override
    public CompletableResultCode export(Collection<MetricData> metrics) {
      List<MetricData> worker = metrics.stream()
          .filter(m -> WorkerMetrics.SCOPE.equals(m.getInstrumentationScopeInfo().getName())).toList();
      return worker.isEmpty() ? CompletableResultCode.ofSuccess()
          : track(failures, "metrics", () -> delegate.export(worker));
    }

    @Override
    public AggregationTemporality getAggregationTemporality(InstrumentType instrumentType) {
      return delegate.getAggregationTemporality(instrumentType);
    }

    @Override
    public Aggregation getDefaultAggregation(InstrumentType instrumentType) {
      return delegate.getDefaultAggregation(instrumentType);
    }

    @Override
    public MemoryMode getMemoryMode() {
      return delegate.getMemoryMode();
    }

    @Override
    public CompletableResultCode flush() {
      return delegate.flush();
    }

    @Override
    public CompletableResultCode shutdown() {
      return delegate.shutdown();
    }
  }

  private record WatchedSpanExporter(SpanExporter delegate, ExportFailureLog failures) implements SpanExporter {
    @Override
    public CompletableResultCode export(Collection<SpanData> spans) {
      return track(failures, "traces", () -> delegate.export(spans));
    }

    @Override
    public CompletableResultCode flush() {
      return delegate.flush();
    }

    @Override
    public CompletableResultCode shutdown() {
      return delegate.shutdown();
    }
  }
}
