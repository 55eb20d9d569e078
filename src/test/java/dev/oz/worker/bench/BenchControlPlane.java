package dev.oz.worker.bench;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The control-plane side for the benchmark: accepts the worker's WebSocket, sends assignments and
 * cancellations, and records per task only what the figures need (arrival times on the wall clock, so they
 * compare with the engine's event times; log bytes), not the frames, so a 50 MB flood costs little here.
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
  }

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
    ws.textMessageHandler(this::onText);
    ws.pongHandler(payload -> {
      if (payload.length() == Long.BYTES) {
        pongMicros.add((System.nanoTime() - payload.getLong(0)) / 1000);
      }
    });
  }

  private void onText(String text) {
    long now = Bench.now();
    JsonObject m = new JsonObject(text);
    String type = m.getString("type");
    JsonObject d = m.getJsonObject("data");
    TaskRecord r = tasks.computeIfAbsent(d.getString("task_id"), id -> new TaskRecord());
    switch (type) {
      case "task_claimed" -> r.claimedAt = now;
      case "task_log" -> {
        if (r.firstLogAt == 0) {
          r.firstLogAt = now;
        }
        r.lastLogAt = now;
        r.logBytes += d.getString("data").length();
        r.chunks++;
      }
      case "task_completed", "task_failed", "task_rejected" -> {
        r.terminalType = type;
        r.terminalAt = now;
      }
      default -> { }
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
