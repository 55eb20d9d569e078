package dev.oz.worker.ops;

import dev.oz.worker.bus.Addresses;
import dev.oz.worker.bus.WorkerBus;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.controlplane.ConnectionState;
import dev.oz.worker.bus.ShutdownCoordinator;
import dev.oz.worker.task.WorkerStatus;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operations endpoint: {@code /metrics} (Prometheus), {@code /healthz} (alive, event loops answer),
 * {@code /readyz} (connected to the control plane and the engine answers), {@code /status} (what runs now:
 * task ids and titles, so it takes a bearer token when {@code metrics.status_token} is set; the others stay
 * open for scrapers and probes).
 */
public final class OpsHttpVerticle extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(OpsHttpVerticle.class);
  private static final long PROBE_TIMEOUT_MS = 5_000;
  /** The lifecycle is asked this often in the background; an answer this recent (twice that) makes /healthz ok. */
  private static final long LIVENESS_PROBE_MS = 1_000;
  private static final long LIVENESS_FRESH_NANOS = 2 * LIVENESS_PROBE_MS * 1_000_000;
  private static final CharSequence JSON = HttpHeaders.createOptimized("application/json");
  private static final String HEALTHY = "{\"status\":\"ok\"}";

  private final WorkerOptions options;
  private final WorkerBus bus;
  private final PrometheusMeterRegistry registry;
  private final String version;
  private final ShutdownCoordinator shutdown;
  private ConnectionState connection = new ConnectionState(false, Instant.now());
  private HttpServer server;
  /** When the task lifecycle last answered a status request; 0 before its first answer. */
  private long lifecycleAnsweredNanos;

  public OpsHttpVerticle(WorkerOptions options, WorkerBus bus, PrometheusMeterRegistry registry, String version,
      ShutdownCoordinator shutdown) {
    this.shutdown = shutdown;
    this.options = options;
    this.bus = bus;
    this.registry = registry;
    this.version = version;
  }

  /**
   * Plain HTTP/1.1: no upgrade to HTTP/2 and no WebSocket extensions, which Vert.x otherwise prepares on every
   * connection, and a probe comes on a connection of its own (bench/RESULTS.md, stop 16).
   */
  private static final HttpServerOptions SERVER = new HttpServerOptions().setHttp2ClearTextEnabled(false)
      .setPerFrameWebSocketCompressionSupported(false).setPerMessageWebSocketCompressionSupported(false);

  @Override
  public Future<?> start() {
    bus.<ConnectionState>consumer(Addresses.CONNECTION, msg -> connection = msg.body());
    vertx.setPeriodic(LIVENESS_PROBE_MS, id -> lifecycleStatus());
    // built on a worker thread: the web router's classes load slowly at start, when the worker starts the backend
    // and this server at once, long enough to block an event loop on a busy machine
    return vertx.executeBlocking(this::router, false)
        .compose(router -> vertx.createHttpServer(SERVER).requestHandler(req -> handle(req, router))
            .listen(options.getMetrics().getPort(), options.getMetrics().getHost()))
        .onSuccess(s -> {
          server = s;
          log.info("Metrics and health on http://{}:{} (/metrics, /healthz, /readyz, /status)",
              options.getMetrics().getHost(), s.actualPort());
        })
        .recover(err -> Future.failedFuture("cannot listen on " + options.getMetrics().getHost() + ":"
            + options.getMetrics().getPort() + " for metrics (" + err.getMessage() + "); set metrics.port or metrics.enabled"));
  }

  /**
   * A liveness probe is answered without the router: probes come every few seconds, too rarely for the JIT to compile
   * the router's path, and during a log flood each step of it waits for a busy CPU.
   */
  private void handle(HttpServerRequest req, Router router) {
    if (req.method() == HttpMethod.GET && "/healthz".equals(req.path())) {
      healthz(req.response());
      return;
    }
    router.handle(req);
  }

  private Router router() {
    Router router = Router.router(vertx);
    router.get("/metrics").handler(ctx -> ctx.response()
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
        .end(registry.scrape()));
    router.get("/healthz").handler(ctx -> healthz(ctx.response())); // "/healthz/" too
    router.get("/readyz").handler(this::readyz);
    router.get("/status").handler(this::authorizeStatus).handler(this::status);
    return router;
  }

  /** Probes keep answering (readiness: 503) while running tasks drain; the server closes afterwards. */
  @Override
  public Future<?> stop() {
    return shutdown.tasksDrained(context);
  }

  /** The port actually bound (useful with port 0). */
  public int port() {
    return server == null ? -1 : server.actualPort();
  }

  private Future<WorkerStatus> lifecycleStatus() {
    return bus.<WorkerStatus>request(Addresses.STATUS, "status").onSuccess(s -> lifecycleAnsweredNanos = System.nanoTime());
  }

  private void healthz(HttpServerResponse response) {
    // answering at all proves this event loop; the lifecycle answering (in the background, at most two seconds ago,
    // or now) proves the worker's own loop. A probe then costs no trip to a loop that may be busy streaming a flood.
    if (lifecycleAnsweredNanos != 0 && System.nanoTime() - lifecycleAnsweredNanos < LIVENESS_FRESH_NANOS) {
      healthy(response);
      return;
    }
    lifecycleStatus().timeout(PROBE_TIMEOUT_MS, java.util.concurrent.TimeUnit.MILLISECONDS)
        .onSuccess(s -> healthy(response))
        .onFailure(err -> json(response, 503, new JsonObject().put("status", "unhealthy")
            .put("reason", "the task lifecycle does not answer: " + err.getMessage())));
  }

  private static void healthy(HttpServerResponse response) {
    response.putHeader(HttpHeaders.CONTENT_TYPE, JSON).end(HEALTHY);
  }

  private void readyz(RoutingContext ctx) {
    if (!connection.connected()) {
      json(ctx, 503, new JsonObject().put("status", "not ready").put("reason", "not connected to the control plane"));
      return;
    }
    vertx.eventBus().request(bus.address(Addresses.BACKEND_HEALTH), null,
            new DeliveryOptions().setSendTimeout(PROBE_TIMEOUT_MS))
        .compose(ok -> lifecycleStatus())
        .onSuccess(s -> {
          if (s.shuttingDown()) {
            json(ctx, 503, new JsonObject().put("status", "not ready").put("reason", "shutting down"));
          } else {
            json(ctx, 200, new JsonObject().put("status", "ready"));
          }
        })
        .onFailure(err -> json(ctx, 503, new JsonObject().put("status", "not ready")
            .put("reason", "backend " + options.getBackend() + ": " + err.getMessage())));
  }

  private void authorizeStatus(RoutingContext ctx) {
    String token = options.getMetrics().getStatusToken();
    if (token == null) {
      ctx.next();
      return;
    }
    String header = ctx.request().getHeader("Authorization");
    byte[] given = header != null && header.startsWith("Bearer ")
        ? header.substring("Bearer ".length()).trim().getBytes(StandardCharsets.UTF_8) : new byte[0];
    if (MessageDigest.isEqual(given, token.getBytes(StandardCharsets.UTF_8))) {
      ctx.next();
      return;
    }
    ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"oz-worker\"");
    json(ctx, 401, new JsonObject().put("status", "unauthorized")
        .put("reason", "/status needs Authorization: Bearer <metrics.status_token>"));
  }

  private void status(RoutingContext ctx) {
    lifecycleStatus().onComplete(ar -> {
      JsonObject body = new JsonObject()
          .put("worker_id", options.getWorkerId())
          .put("version", version)
          .put("backend", options.getBackend())
          .put("connected", connection.connected())
          .put("connected_since", connection.connected() ? connection.since().toString() : null);
      if (ar.succeeded()) {
        WorkerStatus s = ar.result();
        JsonArray tasks = new JsonArray();
        for (WorkerStatus.ActiveTask t : s.activeTasks()) {
          tasks.add(new JsonObject().put("task_id", t.taskId()).put("execution_id", t.executionId())
              .put("title", t.title()).put("started_at", t.startedAt().toString()));
        }
        int max = s.maxConcurrentTasks();
        body.put("shutting_down", s.shuttingDown())
            .put("active_tasks", tasks)
            .put("capacity", new JsonObject().put("max_concurrent_tasks", max).put("active", tasks.size())
                .put("available", max == 0 ? null : Math.max(0, max - tasks.size())));
      }
      json(ctx, ar.succeeded() ? 200 : 503, body);
    });
  }

  private static void json(RoutingContext ctx, int status, JsonObject body) {
    json(ctx.response(), status, body);
  }

  private static void json(HttpServerResponse response, int status, JsonObject body) {
    response.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, JSON).end(body.encode());
  }
}
