package dev.oz.worker.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.backend.Availability;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.protocol.FailureReason;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.testing.Assignments;
import dev.oz.worker.testing.FakeBackend;
import dev.oz.worker.testing.LoopbackControlPlane;
import dev.oz.worker.testing.WorkerHarness;
import dev.oz.worker.testing.Waits;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** /metrics, /healthz, /readyz and /status of a worker with a test backend. */
class OpsEndpointsTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private final HttpClient http = HttpClient.newHttpClient();
  private WorkerHarness h;
  private LoopbackControlPlane cp;
  private FakeBackend backend;

  @BeforeEach
  void setUp() {
    deploy(o -> { });
  }

  private void deploy(java.util.function.Consumer<WorkerOptions> customize) {
    backend = new FakeBackend();
    h = WorkerHarness.create(backend);
    cp = h.cp;
    WorkerOptions o = h.options().setWorkerId("ops-worker").setMaxConcurrentTasks(1);
    o.getMetrics().setEnabled(true).setPort(0).setHost("127.0.0.1");
    customize.accept(o);
    h.deploy();
  }

  @AfterEach
  void tearDown() {
    h.close();
  }

  private HttpResponse<String> get(String path) throws Exception {
    return get(path, null);
  }

  private HttpResponse<String> get(String path, String authorization) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + h.metricsPort() + path));
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private double metric(String scrape, String series) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " ([0-9.eE+-]+)$").matcher(scrape);
    assertTrue(m.find(), "series " + series + " missing from:\n" + scrape);
    return Double.parseDouble(m.group(1));
  }

  @Test
  void everySeriesExistsFromStartUpWithTheGoNames() throws Exception {
    Waits.until(() -> {
      try {
        return metric(get("/metrics").body(), "oz_worker_connected") == 1.0;
      } catch (Exception e) {
        return false;
      }
    }, WAIT, () -> "not connected");
    String s = get("/metrics").body();
    assertEquals(0, metric(s, "oz_worker_tasks_active"));
    assertEquals(1, metric(s, "oz_worker_tasks_max_concurrent"));
    assertEquals(0, metric(s, "oz_worker_tasks_claimed_total"));
    assertEquals(0, metric(s, "oz_worker_tasks_rejected_total{reason=\"at_capacity\"}"));
    assertEquals(0, metric(s, "oz_worker_tasks_rejected_total{reason=\"shutting_down\"}"));
    for (String result : new String[] {"succeeded", "failed", "cancelled", "dispatched"}) {
      assertEquals(0, metric(s, "oz_worker_tasks_completed_total{result=\"" + result + "\"}"));
      assertEquals(0, metric(s, "oz_worker_task_duration_seconds_count{result=\"" + result + "\"}"));
    }
    for (String phase : new String[] {"assignment", "backend", "cleanup"}) {
      for (FailureReason r : FailureReason.values()) {
        assertEquals(0, metric(s, "oz_worker_task_failures_total{phase=\"" + phase + "\",reason=\"" + r.wireName() + "\"}"));
      }
    }
    // the Go worker's whole failure catalog, its Kubernetes and command reasons included
    assertEquals(0, metric(s, "oz_worker_task_failures_total{phase=\"assignment\",reason=\"job_create\"}"));
    assertEquals(0, metric(s, "oz_worker_task_failures_total{phase=\"cleanup\",reason=\"cleanup\"}"));
    assertEquals(30, FailureReason.values().length, "the Go worker's TaskFailureReason list and engine_unavailable");
    assertEquals(0, metric(s, "oz_worker_task_failures_total{phase=\"backend\",reason=\"engine_unavailable\"}"));
    assertEquals(0, metric(s, "oz_worker_tasks_rejected_total{reason=\"backend_unavailable\"}"));
    assertEquals(1, metric(s, "oz_worker_backend_available"));
    assertEquals(0, metric(s, "oz_worker_backend_outages_total"));
    assertEquals(0, metric(s, "oz_worker_websocket_reconnects_total{reason=\"dial_failed\"}"));
    assertEquals(0, metric(s, "oz_worker_websocket_reconnects_total{reason=\"remote_close\"}"));
    assertEquals(1, metric(s, "oz_worker_info{backend=\"docker\",version=\"dev\",worker_id=\"ops-worker\"}"));
    assertEquals(0, metric(s, "oz_worker_log_stream_sent_bytes_total"));
    assertEquals(0, metric(s, "oz_worker_log_stream_dropped_bytes_total"));
    assertTrue(s.contains("oz_worker_task_duration_seconds_bucket{result=\"failed\",le=\"5.0\"}"), "histogram buckets");
    assertTrue(s.contains("jvm_memory_used_bytes"), "JVM metrics");
  }

  @Test
  void metricsFollowTasks() throws Exception {
    cp.send(Assignments.minimal("t1"));
    Waits.until(() -> backend.isRunning("t1"), WAIT, () -> "not started");
    cp.send(Assignments.minimal("t2"));
    cp.awaitMessage("task_rejected", "t2", WAIT);
    String during = get("/metrics").body();
    assertEquals(1, metric(during, "oz_worker_tasks_active"));
    assertEquals(1, metric(during, "oz_worker_tasks_claimed_total"));
    assertEquals(1, metric(during, "oz_worker_tasks_rejected_total{reason=\"at_capacity\"}"));
    backend.complete("t1", TaskOutcome.failed(FailureReason.CONTAINER_OOM, "oom", 137));
    cp.awaitMessage("task_failed", "t1", WAIT);
    String after = get("/metrics").body();
    assertEquals(0, metric(after, "oz_worker_tasks_active"));
    assertEquals(1, metric(after, "oz_worker_tasks_completed_total{result=\"failed\"}"));
    assertEquals(1, metric(after, "oz_worker_task_duration_seconds_count{result=\"failed\"}"));
    assertEquals(1, metric(after, "oz_worker_task_failures_total{phase=\"backend\",reason=\"container_oom\"}"));
  }

  private int readyz() {
    try {
      return get("/readyz").statusCode();
    } catch (Exception e) {
      return -1;
    }
  }

  @Test
  void anUnavailableBackendMakesTheWorkerUnreadyAndRejectsAssignmentsWithoutClaimingThem() throws Exception {
    Waits.until(() -> readyz() == 200, WAIT, () -> "never ready");
    cp.send(Assignments.minimal("running"));
    Waits.until(() -> backend.isRunning("running"), WAIT, () -> "not started");
    backend.announce(Availability.unavailable("docker engine unavailable",
        "Docker engine unreachable at unix:///run/x.sock: Connection refused"));
    Waits.until(() -> readyz() == 503, WAIT, () -> "still ready");
    assertEquals(new JsonObject().put("status", "not ready")
        .put("reason", "backend docker: Docker engine unreachable at unix:///run/x.sock: Connection refused"),
        new JsonObject(get("/readyz").body()));

    cp.send(Assignments.minimal("during"));
    JsonObject rejected = cp.awaitMessage("task_rejected", "during", WAIT);
    assertEquals("docker engine unavailable", rejected.getJsonObject("data").getString("reason"));
    assertTrue(cp.received("task_claimed").stream()
        .noneMatch(m -> "during".equals(m.getJsonObject("data").getString("task_id"))), "never claimed");
    assertTrue(backend.isRunning("running"), "the running task is left to the backend");
    String during = get("/metrics").body();
    assertEquals(0, metric(during, "oz_worker_backend_available"));
    assertEquals(1, metric(during, "oz_worker_backend_outages_total"));
    assertEquals(1, metric(during, "oz_worker_tasks_rejected_total{reason=\"backend_unavailable\"}"));

    backend.announce(Availability.AVAILABLE);
    Waits.until(() -> readyz() == 200, WAIT, () -> "not ready again");
    backend.complete("running", TaskOutcome.succeeded());
    cp.awaitMessage("task_completed", "running", WAIT);
    cp.send(Assignments.minimal("after"));
    Waits.until(() -> backend.isRunning("after"), WAIT, () -> "not taken after the outage");
    String after = get("/metrics").body();
    assertEquals(1, metric(after, "oz_worker_backend_available"));
    assertEquals(1, metric(after, "oz_worker_backend_outages_total"));
  }

  @Test
  void probesAndStatus() throws Exception {
    HttpResponse<String> first = get("/healthz"); // before or after the lifecycle's first background answer
    assertEquals(200, first.statusCode());
    assertEquals("{\"status\":\"ok\"}", first.body());
    Waits.until(() -> readyz() == 200, WAIT, () -> "never ready");
    // the lifecycle just answered: the probe's quick answer, the same bytes
    HttpResponse<String> quick = get("/healthz");
    assertEquals(200, quick.statusCode());
    assertEquals("{\"status\":\"ok\"}", quick.body());
    assertEquals("application/json", quick.headers().firstValue("Content-Type").orElse(""));
    assertEquals(first.headers().map().keySet(), quick.headers().map().keySet());

    cp.send(Assignments.envelope("task_assignment", Assignments.data("t1").put("execution_id", "e1")));
    Waits.until(() -> backend.isRunning("t1"), WAIT, () -> "not started");
    JsonObject status = new JsonObject(get("/status").body());
    assertEquals("ops-worker", status.getString("worker_id"));
    assertEquals(true, status.getBoolean("connected"));
    assertTrue(status.getString("connected_since").endsWith("Z"));
    assertEquals("t1", status.getJsonArray("active_tasks").getJsonObject(0).getString("task_id"));
    assertEquals("e1", status.getJsonArray("active_tasks").getJsonObject(0).getString("execution_id"));
    assertEquals(new JsonObject().put("max_concurrent_tasks", 1).put("active", 1).put("available", 0),
        status.getJsonObject("capacity"));

    backend.setHealthy(false);
    HttpResponse<String> engineDown = get("/readyz");
    assertEquals(503, engineDown.statusCode());
    assertTrue(new JsonObject(engineDown.body()).getString("reason").contains("engine unreachable"), engineDown.body());
    backend.setHealthy(true);

    cp.stop();
    Waits.until(() -> readyz() == 503, WAIT, () -> "still ready without a control plane");
    assertEquals("not connected to the control plane", new JsonObject(get("/readyz").body()).getString("reason"));
    assertEquals(200, get("/healthz").statusCode(), "alive even when not ready");
  }

  /** Probes and scrapers speak HTTP/1.1; the endpoint answers a request offering HTTP/2 in plain HTTP/1.1. */
  @Test
  void anOfferToUpgradeToHttp2IsAnsweredInHttp1() throws Exception {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", h.metricsPort())) {
      socket.getOutputStream().write(("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\n"
          + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      socket.setSoTimeout(10_000);
      String head = new String(socket.getInputStream().readNBytes(15), java.nio.charset.StandardCharsets.US_ASCII);
      assertEquals("HTTP/1.1 200 OK", head);
    }
  }

  @Test
  void withATokenStatusNeedsItAndTheOtherEndpointsStayOpen() throws Exception {
    h.close();
    deploy(o -> o.getMetrics().setStatusToken("status-s3cret"));
    cp.send(Assignments.minimal("t1"));
    Waits.until(() -> backend.isRunning("t1"), WAIT, () -> "not started");

    for (String wrong : new String[] {null, "Bearer nope", "status-s3cret", "Basic status-s3cret"}) {
      HttpResponse<String> refused = get("/status", wrong);
      assertEquals(401, refused.statusCode(), String.valueOf(wrong));
      assertEquals("Bearer realm=\"oz-worker\"", refused.headers().firstValue("WWW-Authenticate").orElse(""));
      assertFalse(refused.body().contains("t1"), "nothing about the tasks without the token");
    }
    HttpResponse<String> allowed = get("/status", "Bearer status-s3cret");
    assertEquals(200, allowed.statusCode());
    assertEquals("Test task t1", new JsonObject(allowed.body()).getJsonArray("active_tasks").getJsonObject(0).getString("title"));
    assertEquals(200, get("/metrics").statusCode());
    assertEquals(200, get("/healthz").statusCode());
    Waits.until(() -> readyz() == 200, WAIT, () -> "never ready");
  }

  @Test
  void probesAnswerWhileTasksDrainAndSayShuttingDown() throws Exception {
    h.close();
    deploy(o -> o.setShutdownGracePeriod(Duration.ofSeconds(30))); // a drain that lasts until the task ends
    cp.send(Assignments.minimal("t1"));
    Waits.until(() -> backend.isRunning("t1"), WAIT, () -> "not started");
    io.vertx.core.Future<Void> undeploying = h.undeployAsync();
    HttpResponse<String> ready = get("/readyz");
    assertEquals(503, ready.statusCode(), ready.body());
    backend.complete("t1", TaskOutcome.succeeded());
    undeploying.await(20, TimeUnit.SECONDS);
    assertEquals("task_completed", cp.awaitMessage("task_completed", "t1", WAIT).getString("type"), "drained, not cancelled");
  }
}
