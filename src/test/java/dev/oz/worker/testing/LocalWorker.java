package dev.oz.worker.testing;

import dev.oz.worker.WorkerVerticle;
import dev.oz.worker.cli.CommandLineAccess;
import dev.oz.worker.config.TelemetryOptions;
import dev.oz.worker.config.WorkerOptions;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A worker configured exactly as the command line configures it ({@code -conf}, Go YAML, flags, environment),
 * connected to a loopback control plane: for backends that need no engine.
 */
public final class LocalWorker implements AutoCloseable {
  public static final Duration WAIT = Duration.ofSeconds(30);

  public final TestVertx testVertx;
  public final LoopbackControlPlane cp;
  private String deploymentId;
  private WorkerOptions options;
  private WorkerVerticle verticle;

  public LocalWorker() {
    testVertx = TestVertx.create();
    cp = LoopbackControlPlane.start(testVertx.vertx());
  }

  /** Loads options as {@code Main} does (the control plane's URL is added to {@code flags}). */
  public WorkerOptions load(String conf, Path yaml, Map<String, String> env, String... flags) {
    List<String> all = new ArrayList<>(List.of(flags));
    all.addAll(List.of("--ws-url", cp.wsUrl()));
    options = CommandLineAccess.load(all, conf, yaml, env);
    options.getConnection().setCloseTimeout(Duration.ofSeconds(3));
    if (options.getTelemetry().get(TelemetryOptions.METRICS_EXPORTER) == null) {
      // no pushes to a collector that is not there: its final export would hold every shutdown 5 s
      options.getTelemetry().disableExport();
    }
    return options;
  }

  /** Loads and deploys; fails with the start-up error. */
  public LocalWorker start(String conf, Path yaml, Map<String, String> env, String... flags) throws Exception {
    load(conf, yaml, env, flags);
    deploy();
    return this;
  }

  public void deploy() throws Exception {
    int before = cp.handshakes().size();
    verticle = new WorkerVerticle(options);
    deploymentId = testVertx.vertx().deployVerticle(verticle).await(30, TimeUnit.SECONDS);
    cp.awaitConnections(before + 1, WAIT);
  }

  /** GET on the worker's ops endpoint (metrics enabled on port 0). */
  public HttpResponse<String> get(String path) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + verticle.metricsPort() + path)).build(), HttpResponse.BodyHandlers.ofString());
  }

  public WorkerOptions options() {
    return options;
  }

  /** Graceful shutdown, as on SIGTERM. */
  public void undeploy() throws Exception {
    testVertx.vertx().undeploy(deploymentId).await(120, TimeUnit.SECONDS);
    deploymentId = null;
  }

  public void assign(JsonObject data) {
    cp.send(Assignments.envelope("task_assignment", data));
  }

  public JsonObject awaitTerminal(String taskId) {
    return cp.await(m -> ("task_completed".equals(m.getString("type")) || "task_failed".equals(m.getString("type")))
        && taskId.equals(m.getJsonObject("data").getString("task_id")), WAIT).getJsonObject("data");
  }

  /** Everything the task streamed on {@code stream}, in seq order. */
  public String log(String taskId, String stream) {
    return cp.received("task_log").stream()
        .map(m -> m.getJsonObject("data"))
        .filter(d -> taskId.equals(d.getString("task_id")) && stream.equals(d.getString("stream")))
        .sorted((a, b) -> Long.compare(a.getLong("seq"), b.getLong("seq")))
        .map(d -> d.getString("data"))
        .collect(Collectors.joining());
  }

  @Override
  public void close() throws Exception {
    try {
      if (deploymentId != null) {
        undeploy();
      }
    } finally {
      cp.close();
      testVertx.close();
    }
  }
}
