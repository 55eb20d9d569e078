package dev.oz.worker.logs;

import dev.oz.worker.backend.OutputOrigin;
import dev.oz.worker.backend.SetupEvent;
import dev.oz.worker.backend.StdStream;
import dev.oz.worker.bus.Deadline;
import dev.oz.worker.hosted.HostedOz;
import dev.oz.worker.hosted.TaskIdentity;
import dev.oz.worker.hosted.TaskTokens;
import dev.oz.worker.metrics.WorkerMetrics;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.logs.Logger;
import io.opentelemetry.api.logs.Severity;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.logs.LogRecordProcessor;
import io.opentelemetry.sdk.logs.ReadWriteLogRecord;
import io.opentelemetry.sdk.logs.SdkLoggerProvider;
import io.opentelemetry.sdk.logs.data.LogRecordData;
import io.opentelemetry.sdk.logs.export.LogRecordExporter;
import io.opentelemetry.sdk.resources.Resource;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.LoggerFactory;

/**
 * One task's output as OTLP log records to the collector its assignment names (GO-WORKER-NEWER.md section 3): cut
 * into lines per origin and stream, redacted, built with the OpenTelemetry SDK (resource, scope, attributes) and
 * exported by its OTLP/HTTP exporter in batches of at most {@value #BATCH} every batch interval (5 s as Go), at most
 * {@value #QUEUE} waiting. Batching runs on the owner's Vert.x context (the SDK's batch processor would hold a thread
 * per task). Unlike the Go worker, a failed export is retried with bounded backoff while the queue has room, and
 * every record that never reaches the collector is counted: in a metric and in one closing record of the task.
 * Writes come from any thread and never block.
 */
final class OtlpTaskLog {
  private static final org.slf4j.Logger log = LoggerFactory.getLogger(OtlpTaskLog.class);
  static final String SCOPE = "oz-agent-worker.task";
  static final int BATCH = 128;
  static final int QUEUE = 1024;
  static final int MAX_LINE_BYTES = 64 * 1024;
  static final int MAX_RECORD_BYTES = 16 * 1024;
  static final long FIRST_RETRY_MS = 500;
  static final long MAX_RETRY_MS = 5_000;

  private final Context context;
  private final String taskId;
  private final String backend;
  private final WorkerMetrics metrics;
  private final OtlpRedaction redaction;
  private final TaskTokens tokens;
  private final LogRecordExporter exporter;
  private final SdkLoggerProvider provider;
  private final Logger logger;
  private final Map<String, Lines> writers = new ConcurrentHashMap<>();

  /** Guarded by {@code this}: records waiting, the batch being exported (or retried), counts. */
  private final ArrayDeque<LogRecordData> queue = new ArrayDeque<>();
  private List<LogRecordData> batch;
  private long dropped;
  private boolean accepting = true;
  /** Room kept for the closing record, which must not be lost to the full queue it reports. */
  private int reserve;
  private boolean signalled;

  /** On the context only. */
  private boolean exporting;
  private boolean draining;
  private boolean closed;
  private long retryTimer = -1;
  private long retryDelay;
  private boolean failureLogged;
  private final long tickTimer;
  private Promise<Void> drained;

  OtlpTaskLog(Context context, HostedOz hosted, TaskIdentity task, String endpoint, String workerId, String backend,
      List<String> secrets, WorkerMetrics metrics, Duration batchInterval) {
    this.context = context;
    this.taskId = task.taskId();
    this.backend = backend;
    this.metrics = metrics;
    this.redaction = new OtlpRedaction(secrets);
    this.tokens = new TaskTokens(hosted, task, redaction::add);
    this.exporter = hosted.taskLogExporter(endpoint, tokens::lastIssued);
    this.provider = SdkLoggerProvider.builder()
        .setResource(Resource.create(Attributes.builder()
            .put("service.name", "oz-agent-worker")
            .put("worker.id", workerId)
            .put("worker.backend", backend)
            .put("run_id", task.taskId())
            .put("execution_id", task.executionId())
            .build()))
        .addLogRecordProcessor(new Queueing())
        .build();
    this.logger = provider.get(SCOPE);
    this.tickTimer = context.owner().setPeriodic(batchInterval.toMillis(),
        id -> context.runOnContext(v -> exportNext(true)));
  }

  /**
   * Blocking: loads what the first shipped task would otherwise load on an event loop (the SDK's logger and OTLP
   * exporter classes), by building and dropping both.
   */
  static void warmUp(HostedOz hosted) {
    SdkLoggerProvider p = SdkLoggerProvider.builder().setResource(Resource.empty())
        .addLogRecordProcessor(new LogRecordProcessor() {
          @Override
          public void onEmit(io.opentelemetry.context.Context ctx, ReadWriteLogRecord record) {
            record.toLogRecordData();
          }
        }).build();
    p.get(SCOPE).logRecordBuilder().setBody("warm-up").setSeverity(Severity.INFO)
        .setAllAttributes(Attributes.builder().put("log.source", "worker").build()).emit();
    p.shutdown();
    hosted.taskLogExporter("http://127.0.0.1:9", () -> "").shutdown();
    new io.vertx.core.json.JsonObject().put("warm", "up").encode();
  }

  /** Takes output of {@code origin}'s {@code stream}: whole lines become records. */
  void write(OutputOrigin origin, StdStream stream, byte[] bytes, int offset, int length) {
    String source = source(origin, stream);
    writers.computeIfAbsent(source, s -> new Lines(attributes(origin, stream, s))).write(bytes, offset, length);
  }

  /** A setup phase as the Go worker logs it: body = the event name, its timing as attributes. */
  void setupEvent(SetupEvent e) {
    emit(Severity.INFO, "info", e.name(), Attributes.builder()
        .put("event.name", e.name())
        .put("start_ts", e.start().toString())
        .put("finish_ts", e.finish().toString())
        .put("latency_ms", Duration.between(e.start(), e.finish()).toNanos() / 1e6)
        .put("is_error", e.error())
        .build());
  }

  /** The output ended: unterminated last lines become records. */
  /** More values to redact from what is shipped from now on (a backend's own environment values). */
  void addSecrets(java.util.Collection<String> more) {
    redaction.addAll(List.copyOf(more));
  }

  void endOutput() {
    writers.values().forEach(Lines::flush);
  }

  /** The Go worker's {@code log.source} for each backend. */
  private String source(OutputOrigin origin, StdStream stream) {
    String s = stream.wireName();
    return switch (origin.kind()) {
      case HOOK -> "hook." + s;
      case CONTAINER -> "container." + s;
      case POD -> "pod." + origin.container();
      case TASK -> switch (backend) {
        case "docker" -> "container." + s;
        case "direct" -> "agent." + s;
        case "command" -> "dispatch." + s;
        default -> "task." + s;
      };
    };
  }

  private static Attributes attributes(OutputOrigin origin, StdStream stream, String source) {
    AttributesBuilder a = Attributes.builder().put("log.source", source);
    if (origin.kind() == OutputOrigin.Kind.CONTAINER || (origin.kind() == OutputOrigin.Kind.TASK
        && source.startsWith("container."))) {
      a.put("log.iostream", stream.wireName());
      if (origin.container() != null) {
        a.put("container.name", origin.container());
      }
    } else if (origin.kind() == OutputOrigin.Kind.POD) {
      a.put("k8s.container.name", origin.container());
      if (origin.pod() != null) {
        a.put("k8s.pod.name", origin.pod());
      }
    }
    return a.build();
  }

  private void emit(Severity severity, String level, String text, Attributes attributes) {
    String body = text.length() * 3 > MAX_RECORD_BYTES
        && text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_RECORD_BYTES ? OtlpRedaction.MARK : text;
    logger.logRecordBuilder()
        .setTimestamp(Instant.now())
        .setSeverity(severity)
        .setSeverityText(level)
        .setBody(body)
        .setAllAttributes(attributes)
        .emit();
  }

  /** The SDK's processor seam: each record built by the logger lands in the bounded queue. */
  private final class Queueing implements LogRecordProcessor {
    @Override
    public void onEmit(io.opentelemetry.context.Context ctx, ReadWriteLogRecord record) {
      boolean wake = false;
      synchronized (OtlpTaskLog.this) {
        int waiting = queue.size() + (batch == null ? 0 : batch.size());
        if (!accepting || waiting >= QUEUE + reserve) {
          dropped++;
          metrics.taskLogRecordsDropped(1);
          return;
        }
        queue.addLast(record.toLogRecordData());
        if (queue.size() >= BATCH && !signalled) {
          signalled = true;
          wake = true;
        }
      }
      if (wake) {
        context.runOnContext(v -> exportNext(false));
      }
    }

    @Override
    public CompletableResultCode shutdown() {
      return CompletableResultCode.ofSuccess();
    }
  }

  /** Exports the next batch: a full one, or any when {@code partial} (the interval passed, or the final flush). */
  private void exportNext(boolean partial) {
    if (exporting || closed || retryTimer >= 0) {
      return;
    }
    List<LogRecordData> next;
    synchronized (this) {
      signalled = false;
      if (batch == null) {
        if (queue.isEmpty() || (!partial && !draining && queue.size() < BATCH)) {
          checkDrained();
          return;
        }
        batch = new ArrayList<>(Math.min(BATCH, queue.size()));
        while (batch.size() < BATCH && !queue.isEmpty()) {
          batch.add(queue.pollFirst());
        }
      }
      next = batch;
    }
    exporting = true;
    tokens.current()
        .compose(token -> {
          Promise<Void> done = Promise.promise();
          CompletableResultCode code = exporter.export(next);
          code.whenComplete(() -> context.runOnContext(v -> {
            if (code.isSuccess()) {
              done.tryComplete();
            } else {
              done.tryFail("task log export failed");
            }
          }));
          return done.future();
        })
        .onComplete(ar -> {
          exporting = false;
          if (closed) {
            return;
          }
          if (ar.succeeded()) {
            synchronized (this) {
              batch = null;
            }
            retryDelay = 0;
            exportNext(draining || partial);
          } else {
            if (!failureLogged) {
              failureLogged = true;
              log.atWarn().addKeyValue("task_id", taskId).log("Task {}: task log export failed ({}); retrying while "
                  + "the queue has room", taskId, ar.cause().getMessage());
            }
            retryDelay = retryDelay == 0 ? FIRST_RETRY_MS : Math.min(MAX_RETRY_MS, retryDelay * 2);
            retryTimer = context.owner().setTimer(retryDelay, id -> context.runOnContext(v -> {
              retryTimer = -1;
              exportNext(true);
            }));
          }
        });
  }

  private void checkDrained() {
    if (draining && drained != null && batch == null && queue.isEmpty() && !exporting) {
      drained.tryComplete();
    }
  }

  /**
   * Flushes (at most {@code flushMs}) and closes: last lines, the closing record when records were lost, then every
   * waiting record; what is not out by then counts as dropped. Never fails. Call on the context.
   */
  Future<Void> close(long flushMs) {
    if (drained != null) {
      return drained.future();
    }
    endOutput();
    long lost;
    synchronized (this) {
      lost = dropped;
    }
    if (lost > 0) {
      synchronized (this) {
        reserve = 1;
      }
      emit(Severity.WARN, "warn", "[oz-worker] " + lost + " task log record(s) of this task were dropped before "
          + "reaching the collector (it was unavailable or too slow and the worker's queue of " + QUEUE + " was full)",
          Attributes.builder().put("log.source", "worker").put("oz.dropped_records", lost).build());
    }
    synchronized (this) {
      accepting = false;
    }
    draining = true;
    drained = Promise.promise();
    if (retryTimer >= 0) {
      context.owner().cancelTimer(retryTimer);
      retryTimer = -1;
    }
    exportNext(true);
    checkDrained();
    return Deadline.atMost(context.owner(), drained.future(), flushMs, () -> { }).onComplete(ar -> {
      closed = true;
      context.owner().cancelTimer(tickTimer);
      if (retryTimer >= 0) {
        context.owner().cancelTimer(retryTimer);
      }
      long left;
      synchronized (this) {
        left = queue.size() + (batch == null ? 0 : batch.size());
        queue.clear();
        batch = null;
      }
      if (left > 0) {
        metrics.taskLogRecordsDropped(left);
        log.atWarn().addKeyValue("task_id", taskId).log("Task {}: {} task log record(s) not exported by the final "
            + "flush", taskId, left);
      }
      provider.shutdown();
      exporter.shutdown();
    });
  }

  /** For tests: records lost so far (queue full). */
  synchronized long dropped() {
    return dropped;
  }

  /** One source's bytes cut into lines; a line over 64 KiB is dropped whole (a cut could split a secret). */
  private final class Lines {
    private final Attributes attributes;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private boolean discarding;

    Lines(Attributes attributes) {
      this.attributes = attributes;
    }

    synchronized void write(byte[] bytes, int offset, int length) {
      int end = offset + length;
      int start = offset;
      for (int i = offset; i < end; i++) {
        if (bytes[i] == '\n') {
          append(bytes, start, i - start);
          emitLine();
          start = i + 1;
        }
      }
      append(bytes, start, end - start);
    }

    private void append(byte[] bytes, int from, int n) {
      if (discarding || n == 0) {
        return;
      }
      if (line.size() + n > MAX_LINE_BYTES) {
        discarding = true;
        line.reset();
        return;
      }
      line.write(bytes, from, n);
    }

    private void emitLine() {
      if (!discarding && line.size() > 0) {
        byte[] raw = line.toByteArray();
        emit(Severity.INFO, "info", redaction.redact(raw, raw.length), attributes);
      }
      line.reset();
      discarding = false;
    }

    synchronized void flush() {
      emitLine();
    }
  }
}
