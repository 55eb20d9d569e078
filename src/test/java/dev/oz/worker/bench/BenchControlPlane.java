package dev.oz.worker.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The control-plane side for the benchmark: accepts the worker's WebSocket, sends assignments and
 * cancellations, and records per task only what the figures need (arrival times on the wall clock, so they
 * compare with the engine's event times; log bytes), not the frames, so a 50 MB flood costs little here: each
 * message is read token by token from its bytes, the chunk's text measured but not made into a string (a real control
 * plane runs elsewhere; the baseline pays for no control plane on this machine).
 * It can also ping the worker and time the pongs.
 */
final class BenchControlPlane implements AutoCloseable {
  static final String PATH = "/api/v1/selfhosted/worker/ws";

  /** What arrived for one task; times are epoch nanoseconds. */
  static final class TaskRecord {
    volatile long claimedAt;
    volatile long terminalAt;
    volatile String terminalType;
    volatile long firstLogAt;
    volatile long lastLogAt;
    volatile long logBytes;
    volatile long chunks;
    /** Epoch nanos when the log bytes reached each multiple of {@link #MARK_BYTES} (the arrival curve). */
    final long[] marks = new long[MARKS];
  }

  static final long MARK_BYTES = 5_000_000;
  static final int MARKS = 10;

  private final Vertx vertx = Vertx.vertx();
  private final HttpServer server;
  private final Map<String, TaskRecord> tasks = new ConcurrentHashMap<>();
  private final List<Long> connectedAt = new CopyOnWriteArrayList<>();
  private final List<Long> pongMicros = new CopyOnWriteArrayList<>();
  private volatile ServerWebSocket current;
  private long pingTimer = -1;

  private BenchControlPlane() {
    server = await(vertx.createHttpServer(new HttpServerOptions()
            .setMaxWebSocketFrameSize(1024 * 1024).setMaxWebSocketMessageSize(64 * 1024 * 1024))
        .webSocketHandler(this::onSocket)
        .requestHandler(req -> req.response().setStatusCode(404).end())
        .listen(0, "127.0.0.1"));
  }

  static BenchControlPlane start() {
    return new BenchControlPlane();
  }

  String wsUrl() {
    return "ws://127.0.0.1:" + server.actualPort() + PATH;
  }

  private void onSocket(ServerWebSocket ws) {
    current = ws;
    connectedAt.add(Bench.now());
    Buffer[] partial = {null};
    ws.frameHandler(frame -> onFrame(frame, partial));
    ws.pongHandler(payload -> {
      if (payload.length() == Long.BYTES) {
        pongMicros.add((System.nanoTime() - payload.getLong(0)) / 1000);
      }
    });
  }

  /** Text messages, put together from their frames (the worker sends each in one frame unless it is very large). */
  private void onFrame(WebSocketFrame frame, Buffer[] partial) {
    if (frame.isText() || (frame.isContinuation() && partial[0] != null)) {
      partial[0] = partial[0] == null ? frame.binaryData().copy() : partial[0].appendBuffer(frame.binaryData());
      if (frame.isFinal()) {
        Buffer message = partial[0];
        partial[0] = null;
        onText(message.getBytes());
      }
    }
  }

  private static final JsonFactory JSON = new JsonFactory();

  private void onText(byte[] message) {
    long now = Bench.now();
    String type = null;
    String taskId = null;
    int textLength = 0;
    try (JsonParser p = JSON.createParser(message)) {
      int depth = 0;
      for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
        switch (t) {
          case START_OBJECT, START_ARRAY -> depth++;
          case END_OBJECT, END_ARRAY -> depth--;
          case FIELD_NAME -> {
            String name = p.currentName();
            JsonToken value = p.nextToken();
            if (value == JsonToken.START_OBJECT || value == JsonToken.START_ARRAY) {
              depth++;
            } else if (depth == 1 && name.equals("type")) {
              type = p.getText();
            } else if (depth == 2 && name.equals("task_id")) {
              taskId = p.getText();
            } else if (depth == 2 && name.equals("data") && value == JsonToken.VALUE_STRING) {
              textLength = p.getTextLength(); // decoded, as String.length() would count it
            }
          }
          default -> { }
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("not JSON from the worker", e);
    }
    if (type == null || taskId == null) {
      return;
    }
    TaskRecord r = tasks.computeIfAbsent(taskId, id -> new TaskRecord());
    switch (type) {
      case "task_claimed" -> r.claimedAt = now;
      case "task_log" -> {
        if (r.firstLogAt == 0) {
          r.firstLogAt = now;
        }
        r.lastLogAt = now;
        long before = r.logBytes;
        r.logBytes += textLength;
        mark(r.marks, before, r.logBytes, now);
        r.chunks++;
      }
      case "task_completed", "task_failed", "task_rejected" -> {
        r.terminalType = type;
        r.terminalAt = now;
      }
      default -> { }
    }
  }

  /** Records {@code now} for every multiple of {@link #MARK_BYTES} that {@code before..after} crossed. */
  static void mark(long[] marks, long before, long after, long now) {
    for (long m = before / MARK_BYTES + 1; m <= after / MARK_BYTES && m <= MARKS; m++) {
      marks[(int) m - 1] = now;
    }
  }

  /** Epoch nanos of each accepted connection. */
  List<Long> connections() {
    return List.copyOf(connectedAt);
  }

  TaskRecord task(String taskId) {
    return tasks.computeIfAbsent(taskId, id -> new TaskRecord());
  }

  void send(JsonObject message) {
    ServerWebSocket ws = current;
    if (ws == null) {
      throw new IllegalStateException("no worker connected");
    }
    String text = message.encode();
    await(ws.writeTextMessage(text));
  }

  /** Pings the worker every {@code intervalMs} until {@link #stopPinging()}; pong round trips are recorded. */
  void startPinging(long intervalMs) {
    pongMicros.clear();
    pingTimer = vertx.setPeriodic(intervalMs, id -> {
      ServerWebSocket ws = current;
      if (ws != null) {
        ws.writePing(Buffer.buffer().appendLong(System.nanoTime()));
      }
    });
  }

  List<Long> stopPinging() {
    vertx.cancelTimer(pingTimer);
    return List.copyOf(pongMicros);
  }

  @Override
  public void close() {
    await(vertx.close());
  }

  static <T> T await(io.vertx.core.Future<T> f) {
    try {
      return f.await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
