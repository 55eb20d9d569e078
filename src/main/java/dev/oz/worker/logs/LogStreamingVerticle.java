package dev.oz.worker.logs;

import dev.oz.worker.backend.TaskOutput;
import dev.oz.worker.backend.StdStream;
import dev.oz.worker.bus.Addresses;
import dev.oz.worker.bus.WorkerBus;
import dev.oz.worker.backend.SetupEvent;
import dev.oz.worker.config.LogStreamOptions;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.hosted.HostedOz;
import dev.oz.worker.hosted.HostedTask;
import dev.oz.worker.metrics.WorkerMetrics;
import dev.oz.worker.protocol.ProtocolJson;
import dev.oz.worker.protocol.TaskLogFrame;
import dev.oz.worker.bus.ShutdownCoordinator;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Captures running tasks' output: each task gets one {@link TaskCapture} that feeds the {@code task_log} stream
 * and, when the assignment asks for it, the task's OTLP collector ({@link OtlpTaskLog}), and posts its setup events.
 * The stream sends the output to the control plane as {@code task_log} chunks: backends write into a
 * {@link TaskLogSink} per task from their own threads; this verticle cuts chunks on its event loop and hands
 * them to the connection, keeping at most {@value #WINDOW} chunks unwritten so a slow or absent socket
 * backs up into the bounded sinks (where the oldest output is dropped and announced), never into memory.
 */
public final class LogStreamingVerticle extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(LogStreamingVerticle.class);
  static final int WINDOW = 8;

  private final LogStreamOptions options;
  private final WorkerBus bus;
  private final WorkerMetrics metrics;
  private final ShutdownCoordinator shutdown;
  /** Null when built without the worker's options (no shipping, no setup events). */
  private final WorkerOptions worker;
  private HostedOz hosted;
  /** Shipping a task's log to a collector needs the OTLP classes loaded (off the event loop) first; null: not begun. */
  private Future<?> warmedUp;
  private final Map<String, OtlpTaskLog> shipped = new HashMap<>();
  private final Map<String, TaskStream> streams = new LinkedHashMap<>();
  private final ArrayDeque<TaskStream> rotation = new ArrayDeque<>();
  private int inFlight;
  private long flushTimer = -1;
  /** Chunks are cut into this buffer and decoded from it, one at a time on the event loop. */
  private byte[] cutBuffer;

  /** The stream state of one task. */
  private static final class TaskStream {
    final String taskId;
    final String executionId;
    TaskLogSink sink;
    long seq;
    boolean markerSent;

    TaskStream(String taskId, String executionId) {
      this.taskId = taskId;
      this.executionId = executionId;
    }
  }

  public LogStreamingVerticle(LogStreamOptions options, WorkerBus bus, WorkerMetrics metrics, ShutdownCoordinator shutdown) {
    this(options, null, bus, metrics, shutdown);
  }

  /** With the worker's options: task logs are also shipped to collectors and setup events posted. */
  public LogStreamingVerticle(WorkerOptions worker, WorkerBus bus, WorkerMetrics metrics, ShutdownCoordinator shutdown) {
    this(worker.getLogs(), worker, bus, metrics, shutdown);
  }

  private LogStreamingVerticle(LogStreamOptions options, WorkerOptions worker, WorkerBus bus, WorkerMetrics metrics,
      ShutdownCoordinator shutdown) {
    this.worker = worker;
    this.options = options;
    this.bus = bus;
    this.metrics = metrics;
    this.shutdown = shutdown;
  }

  @Override
  public Future<?> start() {
    cutBuffer = new byte[options.getChunkBytes()];
    if (worker != null) {
      hosted = new HostedOz(vertx);
    }
    bus.<OpenTaskLog>consumer(Addresses.LOG_OPEN, this::open);
    bus.<String>consumer(Addresses.LOG_CLOSE, this::close);
    return Future.succeededFuture();
  }

  /**
   * Loads, off the event loop, the OTLP classes shipping a task's log needs (a second of CPU at start). The worker
   * calls it once it is connected, so as not to slow the connection down; the first task's log open calls it too and
   * waits for it. Any thread.
   */
  public void warmUpShipping() {
    context.runOnContext(v -> warmUp());
  }

  private Future<?> warmUp() {
    if (warmedUp == null) {
      HostedOz h = hosted;
      warmedUp = h == null ? Future.succeededFuture() : vertx.executeBlocking(() -> {
        OtlpTaskLog.warmUp(h);
        return null;
      });
    }
    return warmedUp;
  }

  private void open(Message<OpenTaskLog> msg) {
    if (!warmUp().isComplete()) {
      warmedUp.onComplete(ar -> open(msg));
      return;
    }
    OpenTaskLog request = msg.body();
    TaskLogSink sink = options.isStream() ? openStream(request) : null;
    OtlpTaskLog ship = openShipping(request);
    Consumer<SetupEvent> events = setupEvents(request.hosted());
    if (sink == null && ship == null && events == null) {
      bus.reply(msg, TaskOutput.DISCARD);
      return;
    }
    bus.reply(msg, new TaskCapture(sink, ship, events));
  }

  private TaskLogSink openStream(OpenTaskLog request) {
    TaskStream ts = new TaskStream(request.taskId(), request.executionId());
    ts.sink = new TaskLogSink(request.secrets(), options.getBufferBytes(), options.getMaxBytesPerTask(),
        Math.min(options.getChunkBytes(), options.getBufferBytes()), () -> context.runOnContext(v -> onData(ts)));
    if (!request.positionsKnown()) {
      ts.sink.withoutPositions();
    }
    streams.put(ts.taskId, ts);
    rotation.addLast(ts);
    if (flushTimer < 0) {
      flushTimer = vertx.setPeriodic(options.getFlushInterval().toMillis(), id -> pump(true));
    }
    return ts.sink;
  }

  /**
   * The task's shipped log, when its assignment enables logging and the operator's {@code collect_task_logs} allows
   * it; a missing precondition is one warning, and the task runs without.
   */
  private OtlpTaskLog openShipping(OpenTaskLog request) {
    HostedTask task = request.hosted();
    if (worker == null || task == null || !task.loggingRequested()) {
      return null;
    }
    if (!worker.isCollectTaskLogs()) {
      log.atDebug().addKeyValue("task_id", request.taskId()).log("Task {}: not shipping its logs (collect_task_logs "
          + "is off)", request.taskId());
      return null;
    }
    String problem = task.identity().taskLogsProblem(task.telemetry().endpoint());
    if (problem != null) {
      log.atWarn().addKeyValue("task_id", request.taskId()).log("Task {}: not shipping its logs to the collector: {}",
          request.taskId(), problem);
      return null;
    }
    List<String> secrets = new ArrayList<>(request.secrets());
    secrets.addAll(task.secrets());
    OtlpTaskLog ship = new OtlpTaskLog(context, hosted, task.identity(), task.telemetry().endpoint(),
        worker.getWorkerId(), worker.getBackend(), secrets, metrics, options.getShippedBatchInterval());
    OtlpTaskLog earlier = shipped.put(request.taskId(), ship);
    if (earlier != null) {
      earlier.close(shippedFlushMs());
    }
    return ship;
  }

  /** Posts each setup phase to hosted Oz; without its preconditions, one warning at the first phase. */
  private Consumer<SetupEvent> setupEvents(HostedTask task) {
    if (worker == null || task == null) {
      return null;
    }
    String problem = task.identity().setupEventsProblem();
    if (problem != null) {
      AtomicBoolean warned = new AtomicBoolean();
      // hosted Oz expects them; other control planes mostly send no key, and a warning per task would be noise
      org.slf4j.event.Level level = worker.getEndpoint() != null && worker.getEndpoint().hosted()
          ? org.slf4j.event.Level.WARN : org.slf4j.event.Level.DEBUG;
      return event -> {
        if (!warned.getAndSet(true)) {
          log.atLevel(level).addKeyValue("task_id", task.identity().taskId()).log(
              "Task {}: not reporting setup events: {}", task.identity().taskId(), problem);
        }
      };
    }
    return event -> hosted.postSetupEvent(task.identity(), event);
  }

  private void onData(TaskStream ts) {
    ts.sink.rearm();
    pump(false);
  }

  /**
   * Sends chunks while the window allows, one task at a time in rotation, so a chatty task cannot starve the
   * others; {@code partial} also sends short chunks.
   */
  private void pump(boolean partial) {
    int idle = 0;
    while (inFlight < WINDOW && idle < rotation.size()) {
      TaskStream ts = rotation.pollFirst();
      rotation.addLast(ts);
      TaskLogSink.Cut cut = ts.sink.next(cutBuffer, partial);
      if (cut != null) {
        send(ts, cut, false);
        idle = 0;
      } else if (!ts.markerSent && ts.sink.isTruncated() && ts.sink.isEmpty()) {
        sendTruncationMarker(ts);
        idle = 0;
      } else {
        idle++;
      }
    }
  }

  private void send(TaskStream ts, TaskLogSink.Cut cut, boolean truncated) {
    send(ts, cut.stream(), cut.buffer(), cut.length(), cut.droppedBefore(), truncated, cut.offset());
  }

  /**
   * Encodes the chunk's bytes straight into its frame (while they are still in the cut buffer) and hands the frame to
   * the connection.
   *
   * @param offset the chunk's position in its stream; null for what is not the task's output (markers)
   */
  private void send(TaskStream ts, StdStream stream, byte[] data, int bytes, long dropped, boolean truncated,
      Long offset) {
    if (dropped > 0) {
      metrics.logBytesDropped(dropped);
      log.warn("Task {}: dropped {} bytes of output the control plane could not take in time", ts.taskId, dropped);
    }
    TaskLogFrame chunk = ProtocolJson.encodeLog(ts.taskId, ts.executionId, ts.seq++, stream.wireName(), data, 0, bytes,
        dropped, truncated, offset);
    inFlight++;
    bus.requestUntimed(Addresses.OUTBOUND_LOG, chunk).onComplete(ar -> {
      inFlight--;
      if (ar.succeeded()) {
        metrics.logBytesSent(bytes);
      }
      pump(false);
    });
  }

  private void sendTruncationMarker(TaskStream ts) {
    ts.markerSent = true;
    String text = "\n[oz-worker] output truncated: this task's output exceeded logs.max_bytes_per_task ("
        + options.getMaxBytesPerTask() + " bytes); the rest is not streamed\n";
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    send(ts, StdStream.STDERR, bytes, bytes.length, ts.sink.takeDropped(), true, null);
  }

  /**
   * Sends everything the task still has, flushes its shipped log (bounded), then replies: the terminal report may
   * follow.
   */
  private void close(Message<String> msg) {
    TaskStream ts = streams.remove(msg.body());
    if (ts != null) {
      rotation.remove(ts);
      ts.sink.close();
      TaskLogSink.Cut cut;
      while ((cut = ts.sink.next(cutBuffer, true)) != null) {
        send(ts, cut, false);
      }
      if (ts.sink.isTruncated() && !ts.markerSent) {
        sendTruncationMarker(ts);
      }
      long dropped = ts.sink.takeDropped();
      if (dropped > 0) {
        send(ts, StdStream.STDOUT, new byte[0], 0, dropped, false, null);
      }
    }
    if (streams.isEmpty() && flushTimer >= 0) {
      vertx.cancelTimer(flushTimer);
      flushTimer = -1;
    }
    OtlpTaskLog ship = shipped.remove(msg.body());
    if (ship == null) {
      msg.reply(null);
    } else {
      // bounded: a dead collector delays the report by at most the flush bound
      ship.close(shippedFlushMs()).onComplete(ar -> msg.reply(null));
    }
  }

  /** The bound on flushing a task's shipped log before its report, and all of them on shutdown. */
  private long shippedFlushMs() {
    return options.getShippedFlushTimeout().toMillis();
  }

  @Override
  public Future<?> stop() {
    // Tasks may still be reporting while the lifecycle drains; close what is left only afterwards.
    return shutdown.tasksDrained(context).compose(v -> {
      for (TaskStream ts : List.copyOf(streams.values())) {
        ts.sink.close();
      }
      streams.clear();
      rotation.clear();
      // tasks left running (a backend that preserves them): their shipped logs are flushed together, bounded
      List<Future<Void>> flushes = new ArrayList<>();
      shipped.values().forEach(ship -> flushes.add(ship.close(shippedFlushMs())));
      shipped.clear();
      return Future.join(flushes);
    }).eventually(() -> {
      shutdown.markLogsFlushed();
      return hosted == null ? Future.succeededFuture() : hosted.close();
    });
  }
}
