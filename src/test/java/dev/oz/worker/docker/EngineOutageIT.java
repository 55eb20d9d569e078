package dev.oz.worker.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.model.Container;
import dev.oz.worker.testing.DockerSettings;
import dev.oz.worker.testing.Engine;
import dev.oz.worker.testing.LogCapture;
import dev.oz.worker.testing.SecondEngine;
import dev.oz.worker.testing.Waits;
import dev.oz.worker.testing.WorkerHarness;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The worker's engine stops while a task runs and starts again ({@link SecondEngine}, so the machine's engine is
 * untouched): readiness follows each change within two seconds, an assignment during the outage is rejected without
 * a claim, the task the outage killed is reported once as {@code engine_unavailable}, its container is removed, and
 * work resumes. With live-restore, the task survives the restart and completes normally.
 */
class EngineOutageIT {
  private static final dev.oz.worker.testing.ReliabilityTable TABLE =
      new dev.oz.worker.testing.ReliabilityTable(java.nio.file.Path.of("docs", "RELIABILITY.md"));

  @org.junit.jupiter.api.AfterAll
  static void writeRows() {
    TABLE.write();
  }

  private static final Duration CHANGE_SEEN = Duration.ofSeconds(2);
  /** Exits at once on SIGTERM (the engine stops its containers with it) instead of after the engine's 10 s. */
  private static final String LONG_TASK = "trap 'exit 143' TERM; echo started; sleep 60 & wait";

  private final HttpClient http = HttpClient.newHttpClient();

  private static WorkerHarness worker(SecondEngine engine) {
    return worker(engine, DockerOptions.DEFAULT_ENGINE_OUTAGE_WAIT);
  }

  private static WorkerHarness worker(SecondEngine engine, Duration outageWait) {
    EngineDiscovery discovery = EngineDiscovery.of(Map.of("DOCKER_HOST", "unix://" + engine.socket()),
        Path.of("/nonexistent/docker.sock"));
    return WorkerHarness.start(new VertxOptions(), o -> {
      o.getMetrics().setEnabled(true).setPort(0).setHost("127.0.0.1");
      DockerSettings.edit(o, d -> d.setEngineOutageWait(outageWait));
    }, new DockerBackendFactory(discovery));
  }

  private HttpResponse<String> get(WorkerHarness h, String path) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + h.metricsPort() + path)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** Polls /readyz until it answers {@code status}; fails after {@link #CHANGE_SEEN}. */
  private HttpResponse<String> awaitReadiness(WorkerHarness h, int status, String change) {
    long start = System.nanoTime();
    HttpResponse<String>[] last = new HttpResponse[1];
    Waits.until(() -> (last[0] = get(h, "/readyz")).statusCode() == status, CHANGE_SEEN,
        () -> "/readyz still " + last[0].statusCode() + " " + last[0].body() + " " + CHANGE_SEEN.toMillis()
            + " ms after " + change);
    System.out.printf("readiness %d %d ms after %s%n", status, (System.nanoTime() - start) / 1_000_000, change);
    return last[0];
  }

  private static double metric(String scrape, String series) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " ([0-9.eE+-]+)$").matcher(scrape);
    assertTrue(m.find(), "series " + series + " missing");
    return Double.parseDouble(m.group(1));
  }

  private static List<JsonObject> messagesOf(WorkerHarness h, String taskId) {
    return h.cp.received().stream().filter(m -> taskId.equals(m.getJsonObject("data").getString("task_id"))).toList();
  }

  private static List<String> types(List<JsonObject> messages) {
    return messages.stream().map(m -> m.getString("type")).filter(t -> !"task_log".equals(t)).toList();
  }

  private static String output(WorkerHarness h, String taskId) {
    return h.cp.received("task_log").stream().map(m -> m.getJsonObject("data"))
        .filter(d -> taskId.equals(d.getString("task_id")))
        .sorted((a, b) -> Long.compare(a.getLong("seq"), b.getLong("seq")))
        .map(d -> d.getString("data")).collect(Collectors.joining());
  }

  private static void awaitRunning(SecondEngine engine, String workerId, WorkerHarness h, String taskId) {
    Waits.until(() -> output(h, taskId).contains("started\n") || output(h, taskId).contains("before\n"),
        Duration.ofSeconds(60), () -> "task " + taskId + " did not start: " + h.cp.received());
    List<Container> running = engine.containersOf(workerId);
    assertEquals(1, running.size(), running.toString());
  }

  @Test
  void anOutageIsAnnouncedRejectsWorkReportsTheKilledTaskOnceAndWorkResumes() {
    Engine.docker();
    try (SecondEngine engine = SecondEngine.builder().start()) {
      engine.loadImages(Engine.AGENT);
      try (LogCapture logs = LogCapture.of("dev.oz.worker");
           WorkerHarness h = worker(engine)) {
        String address = "unix://" + engine.socket();
        awaitReadiness(h, 200, "start");
        h.assign(WorkerHarness.scriptTask("long-task", LONG_TASK));
        awaitRunning(engine, h.workerId(), h, "long-task");

        engine.stop();
        HttpResponse<String> down = awaitReadiness(h, 503, "the engine stopped");
        assertTrue(down.body().contains("\"reason\":\"backend docker: Docker engine unreachable at " + address + ": "),
            down.body());

        // an assignment now is turned away at once: never claimed, so the control plane can place it elsewhere
        h.assign(WorkerHarness.scriptTask("during-outage", "echo never"));
        JsonObject rejected = h.cp.await(m -> "task_rejected".equals(m.getString("type"))
            && "during-outage".equals(m.getJsonObject("data").getString("task_id")), CHANGE_SEEN);
        assertEquals("docker engine unavailable", rejected.getJsonObject("data").getString("reason"));
        assertEquals(List.of("task_rejected"), types(messagesOf(h, "during-outage")));
        // the running task is watched, not failed while the engine is away
        Waits.sleep(1_000);
        assertEquals(List.of("task_claimed"), types(messagesOf(h, "long-task")));
        assertEquals(0, metric(get(h, "/metrics").body(), "oz_worker_backend_available"));

        engine.start();
        awaitReadiness(h, 200, "the engine answered again");
        JsonObject failed = h.awaitTerminal("long-task", Duration.ofSeconds(10)).getJsonObject("data");
        assertEquals("engine_unavailable", failed.getString("failure_reason"), failed.encode());
        assertEquals("Failed to execute task: Docker engine stopped while the task ran", failed.getString("message"));
        Waits.until(() -> engine.containersOf(h.workerId()).isEmpty(), Duration.ofSeconds(10),
            () -> "containers left: " + engine.containersOf(h.workerId()));

        JsonObject next = h.run(WorkerHarness.scriptTask("after-outage", "echo back"));
        assertEquals("task_completed", next.getString("type"), next.encode());
        assertTrue(output(h, "after-outage").contains("back\n"), output(h, "after-outage"));
        Waits.until(() -> engine.containersOf(h.workerId()).isEmpty(), Duration.ofSeconds(10),
            () -> "containers left: " + engine.containersOf(h.workerId()));
        // one terminal report for the killed task, no more
        assertEquals(List.of("task_claimed", "task_failed"), types(messagesOf(h, "long-task")));

        String scrape = get(h, "/metrics").body();
        assertEquals(1, metric(scrape, "oz_worker_backend_available"));
        assertEquals(1, metric(scrape, "oz_worker_backend_outages_total"));
        assertEquals(1, metric(scrape, "oz_worker_tasks_rejected_total{reason=\"backend_unavailable\"}"));
        assertEquals(1, metric(scrape, "oz_worker_task_failures_total{phase=\"backend\",reason=\"engine_unavailable\"}"));
        // each change logged once
        assertEquals(1, logs.messages().stream().filter(m -> m.startsWith("WARN Docker engine unreachable at "
            + address + ": ")).count(), logs.all());
        assertEquals(1, logs.messages().stream().filter(m -> m.matches("INFO Docker engine back after [0-9.]+s")).count(),
            logs.all());
        TABLE.row("Docker engine stopped mid-task and started again (no live-restore)",
            "/readyz 503 then 200 within 2 s of each change; assignments during the outage rejected, never claimed; the"
                + " killed task reported once as engine_unavailable; the next task runs",
            "readiness followed both changes; during-outage: task_rejected only; long-task: task_claimed, task_failed"
                + " engine_unavailable; after-outage completed", engine.containersOf(h.workerId()).size());
      }
    }
  }

  @Test
  void withLiveRestoreTheRunningTaskSurvivesTheRestartAndCompletes() {
    Engine.docker();
    try (SecondEngine engine = SecondEngine.builder().daemonArgs("--live-restore").start()) {
      engine.loadImages(Engine.AGENT);
      try (WorkerHarness h = worker(engine)) {
        awaitReadiness(h, 200, "start");
        h.assign(WorkerHarness.scriptTask("survivor", "echo before; sleep 12; echo after"));
        awaitRunning(engine, h.workerId(), h, "survivor");
        engine.stop();
        awaitReadiness(h, 503, "the engine stopped");
        engine.start();
        awaitReadiness(h, 200, "the engine answered again");

        JsonObject done = h.awaitTerminal("survivor", Duration.ofSeconds(60));
        assertEquals("task_completed", done.getString("type"), done.encode());
        assertEquals(List.of("task_claimed", "task_completed"), types(messagesOf(h, "survivor")));
        // followed again after the restart: every line once
        String out = output(h, "survivor");
        assertEquals(List.of("before", "after"), out.lines().filter(l -> l.equals("before") || l.equals("after")).toList(),
            out);
        Waits.until(() -> engine.containersOf(h.workerId()).isEmpty(), Duration.ofSeconds(10),
            () -> "containers left: " + engine.containersOf(h.workerId()));
        TABLE.row("Docker engine restarted mid-task with --live-restore",
            "the running task survives, is followed again and completes once, each output line once",
            "survivor: task_claimed, task_completed; lines before/after once each", engine.containersOf(h.workerId()).size());
      }
    }
  }

  @Test
  void anEngineThatStaysAwayLongerThanTheOutageWaitFailsTheTaskWithoutItsReturn() {
    Engine.docker();
    try (SecondEngine engine = SecondEngine.builder().start()) {
      engine.loadImages(Engine.AGENT);
      try (WorkerHarness h = worker(engine, Duration.ofSeconds(2))) {
        awaitReadiness(h, 200, "start");
        h.assign(WorkerHarness.scriptTask("stranded", LONG_TASK));
        awaitRunning(engine, h.workerId(), h, "stranded");
        engine.stop();
        awaitReadiness(h, 503, "the engine stopped");

        JsonObject failed = h.awaitTerminal("stranded", Duration.ofSeconds(10)).getJsonObject("data");
        assertEquals("engine_unavailable", failed.getString("failure_reason"), failed.encode());
        assertEquals("Failed to execute task: Docker engine stopped while the task ran", failed.getString("message"));
        assertEquals(503, get(h, "/readyz").statusCode(), "reported while the engine is still away");

        // its container goes once the engine is back
        engine.start();
        awaitReadiness(h, 200, "the engine answered again");
        Waits.until(() -> engine.containersOf(h.workerId()).isEmpty(), Duration.ofSeconds(10),
            () -> "containers left: " + engine.containersOf(h.workerId()));
        assertEquals(List.of("task_claimed", "task_failed"), types(messagesOf(h, "stranded")));
        TABLE.row("Docker engine away longer than docker.engine_outage_wait",
            "the task reported once as engine_unavailable while the engine is still away; its container removed on return",
            "stranded: task_claimed, task_failed engine_unavailable (readiness still 503)", engine.containersOf(h.workerId()).size());
      }
    }
  }
}
