package dev.oz.worker.devplane;

import dev.oz.worker.protocol.ProtocolException;
import dev.oz.worker.protocol.ProtocolJson;
import dev.oz.worker.protocol.TaskAssignment.InstanceShape;
import dev.oz.worker.protocol.TaskLog;
import dev.oz.worker.protocol.WorkerMessage;
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
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A local control plane for development and tests: the worker WebSocket endpoint of PROTOCOL.md plus a small
 * HTTP API to submit, watch and cancel tasks. Everything lives in memory; it is not a production control
 * plane. This class is the HTTP side (routes, server-sent events, frames through {@link ProtocolJson}); the
 * {@link Dispatcher} decides which worker runs what.
 */
public final class DevControlPlane extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(DevControlPlane.class);
  public static final String WS_PATH = "/api/v1/selfhosted/worker/ws";

  private final String host;
  private final int port;
  private final String adminKey;
  private Dispatcher dispatcher;
  private HttpServer server;

  public DevControlPlane(String host, int port, String adminKey) {
    this.host = host;
    this.port = port;
    this.adminKey = adminKey;
  }

  @Override
  public Future<?> start() {
    dispatcher = new Dispatcher(vertx);
    Router router = Router.router(vertx);
    router.route("/api/v1/*").handler(this::requireAdminKey);
    router.route("/api/v1/*").handler(BodyHandler.create().setBodyLimit(1024 * 1024));
    router.post("/api/v1/tasks").handler(this::submit);
    router.get("/api/v1/tasks").handler(ctx -> json(ctx.response(), 200,
        new JsonObject().put("tasks", new JsonArray(dispatcher.tasks().stream().map(DevTask::toJson).toList()))));
    router.get("/api/v1/tasks/:id").handler(ctx -> withTask(ctx, t -> json(ctx.response(), 200, t.toJson())));
    router.get("/api/v1/tasks/:id/logs").handler(ctx -> withTask(ctx, t -> logs(ctx, t)));
    router.post("/api/v1/tasks/:id/cancel").handler(ctx -> withTask(ctx, t -> cancel(ctx, t)));
    router.route().last().handler(ctx -> json(ctx.response(), 404, error("no such endpoint: " + ctx.request().path())));
    return vertx.executeBlocking(() -> {
          ProtocolJson.prepare(); // Jackson's first use is slow: not on an event loop
          return null;
        })
        .compose(v -> vertx.createHttpServer(new HttpServerOptions()
                .setMaxWebSocketFrameSize(1024 * 1024).setMaxWebSocketMessageSize(16 * 1024 * 1024))
            .requestHandler(router)
            .webSocketHandshakeHandler(this::handshake)
            .webSocketHandler(this::onWorker)
            .listen(port, host))
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
        return URLDecoder.decode(p.substring("worker_id=".length()), StandardCharsets.UTF_8);
      }
    }
    return null;
  }

  private void onWorker(ServerWebSocket ws) {
    Dispatcher.Worker w = new Dispatcher.Worker(workerId(ws.query()), m -> ws.writeTextMessage(ProtocolJson.encode(m)));
    ws.textMessageHandler(text -> {
      WorkerMessage message;
      try {
        message = ProtocolJson.decodeWorkerMessage(text);
      } catch (ProtocolException e) {
        log.warn("Ignoring a message from worker {}: {}", w.id(), e.getMessage());
        return;
      }
      dispatcher.onMessage(w, message);
    });
    ws.closeHandler(v -> dispatcher.disconnected(w));
    dispatcher.connected(w);
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
    Map<String, String> env = new LinkedHashMap<>();
    body.getJsonObject("env", new JsonObject()).forEach(e -> env.put(e.getKey(), (String) e.getValue()));
    JsonObject shape = body.getJsonObject("shape", new JsonObject());
    DevTask t = new DevTask(id, UUID.randomUUID().toString(), body.getString("title", prompt.length() > 60
        ? prompt.substring(0, 60) : prompt), prompt, body.getString("image"), body.getString("sidecar_image"),
        env, shape.isEmpty() ? null : new InstanceShape(shape.getLong("vcpus", 0L), shape.getLong("memory_gb", 0L)));
    dispatcher.submit(t);
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

  private void withTask(RoutingContext ctx, Consumer<DevTask> action) {
    DevTask t = dispatcher.task(ctx.pathParam("id"));
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
    dispatcher.cancel(t);
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
      for (var c : t.chunks.tailMap(sent[0], false).entrySet()) {
        res.write(event(c.getKey(), c.getValue()));
        sent[0] = c.getKey();
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
  private static String event(long id, TaskLog c) {
    StringBuilder e = new StringBuilder("id: ").append(id).append('\n').append("event: ").append(c.stream()).append('\n');
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
