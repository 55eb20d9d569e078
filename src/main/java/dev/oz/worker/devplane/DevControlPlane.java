package dev.oz.worker.devplane;

import dev.oz.worker.devplane.DevTask.State;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.ServerWebSocketHandshake;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.security.MessageDigest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A local control plane for development and tests: the worker WebSocket endpoint of PROTOCOL.md plus a small
 * HTTP API to submit, watch and cancel tasks. Everything lives in memory; it is not a production control
 * plane. Tasks are spread round-robin across connected workers; a rejected task is offered to another.
 */
public final class DevControlPlane extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(DevControlPlane.class);
  public static final String WS_PATH = "/api/v1/selfhosted/worker/ws";
  private static final long RETRY_AFTER_REJECT_MS = 1_000;

  /** A connected worker. */
  private record Worker(String id, ServerWebSocket socket) {
  }

  private final String host;
  private final int port;
  private final String adminKey;
  private final Map<String, DevTask> tasks = new LinkedHashMap<>();
  private final List<Worker> workers = new ArrayList<>();
  private int nextWorker;
  private long retryTimer = -1;
  private HttpServer server;

  public DevControlPlane(String host, int port, String adminKey) {
    this.host = host;
    this.port = port;
    this.adminKey = adminKey;
  }

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    router.route("/api/v1/*").handler(this::requireAdminKey);
    router.route("/api/v1/*").handler(BodyHandler.create().setBodyLimit(1024 * 1024));
    router.post("/api/v1/tasks").handler(this::submit);
    router.get("/api/v1/tasks").handler(ctx -> json(ctx.response(), 200,
        new JsonObject().put("tasks", new JsonArray(tasks.values().stream().map(DevTask::toJson).toList()))));
    router.get("/api/v1/tasks/:id").handler(ctx -> withTask(ctx, t -> json(ctx.response(), 200, t.toJson())));
    router.get("/api/v1/tasks/:id/logs").handler(ctx -> withTask(ctx, t -> logs(ctx, t)));
    router.post("/api/v1/tasks/:id/cancel").handler(ctx -> withTask(ctx, t -> cancel(ctx, t)));
    router.route().last().handler(ctx -> json(ctx.response(), 404, error("no such endpoint: " + ctx.request().path())));
    return vertx.createHttpServer(new HttpServerOptions()
            .setMaxWebSocketFrameSize(1024 * 1024).setMaxWebSocketMessageSize(16 * 1024 * 1024))
        .requestHandler(router)
        .webSocketHandshakeHandler(this::handshake)
        .webSocketHandler(this::onWorker)
        .listen(port, host)
        .onSuccess(s -> server = s);
  }

  public String adminKey() {
    return adminKey;
  }

  /** The port actually bound. */
  public int port() {
    return server == null ? -1 : server.actualPort();
  }

  // ---- workers ----

  private void handshake(ServerWebSocketHandshake hs) {
    if (!WS_PATH.equals(hs.path())) {
      hs.reject(404);
    } else if (!keyMatches(hs.headers().get("Authorization"))) {
      log.warn("Refused a worker connection with a wrong API key");
      hs.reject(401);
    } else if (workerId(hs.query()) == null) {
      hs.reject(400);
    } else {
      hs.accept();
    }
  }

  private static String workerId(String query) {
    if (query == null) {
      return null;
    }
    for (String p : query.split("&")) {
      if (p.startsWith("worker_id=") && p.length() > "worker_id=".length()) {
        return java.net.URLDecoder.decode(p.substring("worker_id=".length()), StandardCharsets.UTF_8);
      }
    }
    return null;
  }

  private void onWorker(ServerWebSocket ws) {
    Worker w = new Worker(workerId(ws.query()), ws);
    workers.add(w);
    log.info("Worker {} connected ({} connected)", w.id(), workers.size());
    ws.textMessageHandler(text -> onWorkerMessage(w, text));
    ws.closeHandler(v -> {
      workers.remove(w);
      log.info("Worker {} disconnected ({} connected)", w.id(), workers.size());
      // an offer nobody answered goes to the next worker; claimed tasks stay with theirs (it reports on reconnect)
      tasks.values().stream().filter(t -> t.offered && w.id().equals(t.workerId)).forEach(t -> t.offered = false);
      dispatch();
    });
    dispatch();
  }

  private void onWorkerMessage(Worker w, String text) {
    JsonObject msg;
    try {
      msg = new JsonObject(text);
    } catch (DecodeException e) {
      log.warn("Invalid JSON from worker {}", w.id());
      return;
    }
    JsonObject d = msg.getJsonObject("data", new JsonObject());
    DevTask t = tasks.get(d.getString("task_id", ""));
    if (t == null) {
      return;
    }
    switch (msg.getString("type", "")) {
      case "task_claimed" -> {
        t.offered = false;
        t.workerId = d.getString("worker_id", w.id());
        if (!t.state.finished()) {
          t.setState(State.CLAIMED);
        }
      }
      case "task_rejected" -> {
        log.info("Worker {} rejected task {} ({}); re-queueing it", w.id(), t.id, d.getString("reason"));
        t.rejectedBy.add(w.id());
        t.offered = false;
        t.workerId = null;
        t.nextDispatchNanos = System.nanoTime() + RETRY_AFTER_REJECT_MS * 1_000_000;
        t.setState(State.QUEUED);
        dispatch();
      }
      case "task_log" -> t.addChunk(new DevTask.Chunk(d.getLong("seq", -1L), d.getString("stream", "stdout"),
          d.getString("data", ""), d.getLong("dropped_bytes", 0L), d.getBoolean("truncated", false)));
      case "task_completed" -> {
        t.message = d.getString("message");
        t.setState("CANCELLED".equals(d.getString("task_state")) ? State.CANCELLED : State.SUCCEEDED);
        dispatch();
      }
      case "task_failed" -> {
        t.message = d.getString("message");
        t.failureReason = d.getString("failure_reason");
        t.exitCode = d.getInteger("exit_code");
        t.setState(State.FAILED);
        dispatch();
      }
      default -> { }
    }
  }

  /** Offers queued tasks to workers, round-robin, skipping workers that rejected the task. */
  private void dispatch() {
    long now = System.nanoTime();
    long earliestRetry = Long.MAX_VALUE;
    for (DevTask t : tasks.values()) {
      if (t.state != State.QUEUED || t.offered || workers.isEmpty()) {
        continue;
      }
      if (t.nextDispatchNanos > now) {
        earliestRetry = Math.min(earliestRetry, t.nextDispatchNanos);
        continue;
      }
      Worker chosen = null;
      for (int i = 0; i < workers.size() && chosen == null; i++) {
        Worker candidate = workers.get((nextWorker + i) % workers.size());
        if (!t.rejectedBy.contains(candidate.id())) {
          chosen = candidate;
          nextWorker = (nextWorker + i + 1) % workers.size();
        }
      }
      if (chosen == null) {
        // everyone said no: ask again later, maybe a slot has freed
        t.rejectedBy.clear();
        t.nextDispatchNanos = now + RETRY_AFTER_REJECT_MS * 1_000_000;
        earliestRetry = Math.min(earliestRetry, t.nextDispatchNanos);
        continue;
      }
      t.workerId = chosen.id();
      t.offered = true; // stays queued until the worker claims or rejects it
      chosen.socket().writeTextMessage(t.assignment().encode());
    }
    if (earliestRetry != Long.MAX_VALUE && retryTimer < 0) {
      retryTimer = vertx.setTimer(Math.max(1, (earliestRetry - now) / 1_000_000), id -> {
        retryTimer = -1;
        dispatch();
      });
    }
  }

  // ---- HTTP API ----

  private boolean keyMatches(String authorization) {
    String expected = "Bearer " + adminKey;
    return authorization != null && MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8),
        authorization.getBytes(StandardCharsets.UTF_8));
  }

  private void requireAdminKey(RoutingContext ctx) {
    if (keyMatches(ctx.request().getHeader("Authorization"))) {
      ctx.next();
    } else {
      json(ctx.response(), 401, error("missing or wrong admin key (Authorization: Bearer <OZ_ADMIN_API_KEY>)"));
    }
  }

  private void submit(RoutingContext ctx) {
    JsonObject body;
    try {
      body = ctx.body().asJsonObject();
    } catch (DecodeException | ClassCastException e) {
      json(ctx.response(), 400, error("the body must be a JSON object"));
      return;
    }
    if (body == null) {
      json(ctx.response(), 400, error("the body must be a JSON object"));
      return;
    }
    String problem = validate(body);
    if (problem != null) {
      json(ctx.response(), 400, error(problem));
      return;
    }
    String id = "task-" + UUID.randomUUID().toString().substring(0, 8);
    String prompt = body.getString("prompt");
    DevTask t = new DevTask(id, UUID.randomUUID().toString(), body.getString("title", prompt.length() > 60
        ? prompt.substring(0, 60) : prompt), prompt, body.getString("image"), body.getString("sidecar_image"),
        body.getJsonObject("env", new JsonObject()), body.getJsonObject("shape", new JsonObject()));
    tasks.put(id, t);
    log.info("Task {} submitted", id);
    dispatch();
    json(ctx.response(), 201, new JsonObject().put("task_id", id).put("state", t.state.wire()));
  }

  /** The first problem with a submission, or null. */
  private static String validate(JsonObject body) {
    Object prompt = body.getValue("prompt");
    if (!(prompt instanceof String) || ((String) prompt).isBlank()) {
      return "\"prompt\" is required and must be a non-empty string";
    }
    for (String key : List.of("image", "sidecar_image", "title")) {
      if (body.containsKey(key) && !(body.getValue(key) instanceof String)) {
        return "\"" + key + "\" must be a string";
      }
    }
    Object env = body.getValue("env");
    if (env != null) {
      if (!(env instanceof JsonObject)) {
        return "\"env\" must be an object of strings";
      }
      for (Map.Entry<String, Object> e : (JsonObject) env) {
        if (!(e.getValue() instanceof String)) {
          return "\"env." + e.getKey() + "\" must be a string";
        }
      }
    }
    Object shape = body.getValue("shape");
    if (shape != null) {
      if (!(shape instanceof JsonObject)) {
        return "\"shape\" must be an object like {\"vcpus\": 2, \"memory_gb\": 4}";
      }
      for (Map.Entry<String, Object> e : (JsonObject) shape) {
        if (!List.of("vcpus", "memory_gb").contains(e.getKey())) {
          return "unknown \"shape." + e.getKey() + "\" (use vcpus and memory_gb)";
        }
        if (!(e.getValue() instanceof Integer || e.getValue() instanceof Long)) {
          return "\"shape." + e.getKey() + "\" must be an integer";
        }
      }
    }
    for (String key : body.fieldNames()) {
      if (!List.of("prompt", "title", "image", "sidecar_image", "env", "shape").contains(key)) {
        return "unknown field \"" + key + "\" (use prompt, title, image, sidecar_image, env, shape)";
      }
    }
    return null;
  }

  private void withTask(RoutingContext ctx, java.util.function.Consumer<DevTask> action) {
    DevTask t = tasks.get(ctx.pathParam("id"));
    if (t == null) {
      json(ctx.response(), 404, error("no task " + ctx.pathParam("id")));
    } else {
      action.accept(t);
    }
  }

  private void cancel(RoutingContext ctx, DevTask t) {
    if (t.state.finished()) {
      json(ctx.response(), 409, error("task " + t.id + " already " + t.state.wire()));
      return;
    }
    if (t.state == State.QUEUED && !t.offered) {
      t.message = "cancelled before it was assigned";
      t.setState(State.CANCELLED);
    } else {
      workers.stream().filter(w -> w.id().equals(t.workerId)).forEach(w -> w.socket().writeTextMessage(
          new JsonObject().put("type", "task_cancellation").put("data", new JsonObject().put("task_id", t.id)).encode()));
    }
    json(ctx.response(), 202, t.toJson());
  }

  /** All output so far as text, or with {@code ?follow=true} a text/event-stream until the task ends. */
  private void logs(RoutingContext ctx, DevTask t) {
    HttpServerResponse res = ctx.response();
    if (!"true".equals(ctx.request().getParam("follow"))) {
      StringBuilder out = new StringBuilder();
      t.chunks.values().forEach(c -> out.append(c.data()));
      res.putHeader("Content-Type", "text/plain; charset=utf-8").end(out.toString());
      return;
    }
    res.setChunked(true).putHeader("Content-Type", "text/event-stream").putHeader("Cache-Control", "no-cache");
    long[] sent = {-1};
    Runnable[] watcher = new Runnable[1];
    watcher[0] = () -> {
      for (DevTask.Chunk c : t.chunks.tailMap(sent[0], false).values()) {
        res.write(event(c));
        sent[0] = c.seq();
      }
      if (t.state.finished()) {
        t.watchers.remove(watcher[0]);
        res.end("event: end\ndata: " + t.toJson().encode() + "\n\n");
      }
    };
    t.watchers.add(watcher[0]);
    ctx.request().connection().closeHandler(v -> t.watchers.remove(watcher[0]));
    watcher[0].run();
  }

  /** One SSE event per chunk: the stream name as event type, one data line per output line. */
  private static String event(DevTask.Chunk c) {
    StringBuilder e = new StringBuilder("id: ").append(c.seq()).append('\n').append("event: ").append(c.stream()).append('\n');
    if (c.droppedBytes() > 0) {
      e.append(": ").append(c.droppedBytes()).append(" bytes of output were dropped before this\n");
    }
    String data = c.data().endsWith("\n") ? c.data().substring(0, c.data().length() - 1) : c.data();
    for (String line : data.split("\n", -1)) {
      e.append("data: ").append(line.replace("\r", "")).append('\n');
    }
    return e.append('\n').toString();
  }

  private static JsonObject error(String message) {
    return new JsonObject().put("error", message);
  }

  private static void json(HttpServerResponse res, int status, JsonObject body) {
    res.setStatusCode(status).putHeader("Content-Type", "application/json").end(Buffer.buffer(body.encodePrettily() + "\n"));
  }
}
