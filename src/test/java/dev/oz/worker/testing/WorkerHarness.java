package dev.oz.worker.testing;

import dev.oz.worker.WorkerVerticle;
import dev.oz.worker.backend.BackendFactory;
import dev.oz.worker.cli.CommandLineAccess;
import dev.oz.worker.config.TelemetryOptions;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.docker.DockerBackendFactory;
import dev.oz.worker.docker.PullPolicy;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
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
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * The one way tests run a worker against a control plane: a {@link WorkerVerticle} on a {@link TestVertx},
 * connected to a {@link LoopbackControlPlane} on a Vert.x of its own (as it would be in another process).
 * Parameterised by backend:
 * <ul>
 *   <li>{@link #start(Consumer)}: the real Docker backend (its containers are removed on close);</li>
 *   <li>{@link #create(BackendFactory)}: any backend object, e.g. a {@link FakeBackend} the test drives;</li>
 *   <li>{@link #fromCommandLine()}: options loaded exactly as {@code Main} loads them, the backend picked by
 *       name from the registry ({@code --backend direct}, {@code command}, ...).</li>
 * </ul>
 * {@link #close()} undeploys the worker while its control plane listens (restarting one the test stopped), so
 * shutdown flushes at once instead of waiting out the close timeout; then it closes the control plane and fails the test if an event loop was
 * blocked. Every wait is a condition with a deadline.
 */
public final class WorkerHarness implements AutoCloseable {
  /** How long a test waits for a condition that should hold within milliseconds. */
  public static final Duration WAIT = Duration.ofSeconds(30);
  /** How long a test waits for a real task (a container, a process) to end. */
  public static final Duration TASK_TIMEOUT = Duration.ofSeconds(60);

  public final TestVertx testVertx;
  public final Vertx vertx;
  /** The control plane runs on a Vert.x of its own, as it would in another process. */
  public final LoopbackControlPlane cp;
  private final Vertx cpVertx;
  /** Null: the backend is found by name, as {@code Main} finds it. */
  private final BackendFactory<?> backend;
  private WorkerOptions options;
  private WorkerVerticle worker;
  private String deploymentId;

  private WorkerHarness(VertxOptions vertxOptions, BackendFactory<?> backend) {
    if (backend instanceof DockerBackendFactory) {
      Engine.docker();
    }
    this.backend = backend;
    testVertx = TestVertx.create(vertxOptions);
    vertx = testVertx.vertx();
    cpVertx = Vertx.vertx();
    cp = LoopbackControlPlane.start(cpVertx);
  }

  /** A Docker worker, deployed and connected. */
  public static WorkerHarness start(Consumer<WorkerOptions> customize) {
    return start(new VertxOptions(), customize);
  }

  /** A Docker worker on a Vert.x with these options, deployed and connected. */
  public static WorkerHarness start(VertxOptions vertxOptions, Consumer<WorkerOptions> customize) {
    return start(vertxOptions, customize, new DockerBackendFactory());
  }

  /** A worker on {@code backend} (e.g. a Docker backend that finds the engine its own way), deployed and connected. */
  public static WorkerHarness start(VertxOptions vertxOptions, Consumer<WorkerOptions> customize, BackendFactory<?> backend) {
    WorkerHarness h = create(vertxOptions, backend);
    customize.accept(h.options);
    h.deploy();
    return h;
  }

  /** A worker on {@code backend} with test options ({@link #options()}), not yet deployed. */
  public static WorkerHarness create(BackendFactory<?> backend) {
    return create(new VertxOptions(), backend);
  }

  private static WorkerHarness create(VertxOptions vertxOptions, BackendFactory<?> backend) {
    WorkerHarness h = new WorkerHarness(vertxOptions, backend);
    h.options = testOptions(h.cp.wsUrl());
    if (backend instanceof DockerBackendFactory) {
      DockerSettings.edit(h.options, d -> d.setPullPolicy(List.of(PullPolicy.NEVER)).setCancelGracePeriod(Duration.ofSeconds(3)));
    }
    return h;
  }

  /** A worker whose options (and so backend) come from {@link #load}, as {@code Main} loads them. */
  public static WorkerHarness fromCommandLine() {
    return new WorkerHarness(new VertxOptions(), null);
  }

  /**
   * Options for a worker under test: its own id, this control plane, fast reconnects, no metrics server and no
   * telemetry pushes (a final export to a collector that is not there would hold every shutdown 5 s).
   */
  private static WorkerOptions testOptions(String wsUrl) {
    WorkerOptions o = new WorkerOptions()
        .setApiKey("test-api-key-" + UUID.randomUUID())
        .setWorkerId("test-" + UUID.randomUUID().toString().substring(0, 8))
        .setWsUrl(wsUrl)
        .setServerRootUrl("http://127.0.0.1:9");
    o.getConnection().setReconnectInitial(Duration.ofMillis(100)).setReconnectMax(Duration.ofMillis(400))
        .setCloseTimeout(Duration.ofSeconds(5));
    o.getMetrics().setEnabled(false);
    o.getTelemetry().disableExport();
    return o;
  }

  /** Loads options as {@code Main} does (the control plane's URL is added to {@code flags}); does not deploy. */
  public WorkerOptions load(String conf, Path yaml, Map<String, String> env, String... flags) {
    List<String> all = new ArrayList<>(List.of(flags));
    all.addAll(List.of("--ws-url", cp.wsUrl()));
    options = CommandLineAccess.load(all, conf, yaml, env);
    options.getConnection().setCloseTimeout(Duration.ofSeconds(5));
    if (options.getTelemetry().get(TelemetryOptions.METRICS_EXPORTER) == null) {
      options.getTelemetry().disableExport(); // as in testOptions
    }
    return options;
  }

  /** Loads as {@link #load} does and deploys; fails with the start-up error. */
  public WorkerHarness start(String conf, Path yaml, Map<String, String> env, String... flags) {
    load(conf, yaml, env, flags);
    deploy();
    return this;
  }

  /** The options the next {@link #deploy()} uses; change them before deploying. */
  public WorkerOptions options() {
    return options;
  }

  /** Deploys the worker and waits until it connected. */
  public WorkerHarness deploy() {
    int before = cp.handshakes().size();
    deploymentId = await(deployAsync(), TASK_TIMEOUT, "worker did not start");
    cp.awaitConnections(before + 1, WAIT);
    return this;
  }

  /** Deploys without waiting: the deployment's outcome, e.g. a start-up failure to assert on. */
  public Future<String> deployAsync() {
    worker = backend == null ? new WorkerVerticle(options) : new WorkerVerticle(options, backend, null);
    return vertx.deployVerticle(worker).onSuccess(id -> deploymentId = id);
  }

  /** Deploys a worker configured only by the deployment's JSON config, as an embedding application would. */
  public Future<String> deployFromJson(JsonObject config) {
    worker = new WorkerVerticle(null, backend, null);
    return vertx.deployVerticle(worker, new DeploymentOptions().setConfig(config)).onSuccess(id -> deploymentId = id);
  }

  /** Starts a graceful shutdown, as on SIGTERM, without waiting for it. */
  public Future<Void> undeployAsync() {
    String id = deploymentId;
    deploymentId = null;
    return vertx.undeploy(id);
  }

  /** Graceful shutdown, as on SIGTERM; returns when the worker has stopped. */
  public void undeploy() {
    await(undeployAsync(), Duration.ofSeconds(120), "undeploy failed");
  }

  public WorkerVerticle worker() {
    return worker;
  }

  public String workerId() {
    return options.getWorkerId();
  }

  /** The ops server's port (metrics enabled with port 0), -1 without it. */
  public int metricsPort() {
    return worker == null ? -1 : worker.metricsPort();
  }

  /** GET on the worker's ops endpoint (metrics enabled on port 0). */
  public HttpResponse<String> get(String path) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + metricsPort() + path)).build(), HttpResponse.BodyHandlers.ofString());
  }

  public void assign(JsonObject data) {
    cp.send(Assignments.envelope("task_assignment", data));
  }

  /** Assigns and waits for the task's terminal report (the whole message). */
  public JsonObject run(JsonObject data) {
    assign(data);
    return awaitTerminal(data.getString("task_id"), TASK_TIMEOUT);
  }

  /** The task's terminal report, {@code task_completed} or {@code task_failed}: the whole message. */
  public JsonObject awaitTerminal(String taskId, Duration timeout) {
    return cp.await(m -> ("task_completed".equals(m.getString("type")) || "task_failed".equals(m.getString("type")))
        && taskId.equals(m.getJsonObject("data").getString("task_id")), timeout);
  }

  /** The data of the task's terminal report. */
  public JsonObject awaitReport(String taskId) {
    return awaitTerminal(taskId, TASK_TIMEOUT).getJsonObject("data");
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

  /** A task for the agent test image running {@code script} in /bin/sh. */
  public static JsonObject scriptTask(String taskId, String script) {
    return Assignments.data(taskId).put("docker_image", Engine.AGENT)
        .put("env_vars", new JsonObject().put("TEST_SCRIPT", script));
  }

  private static <T> T await(Future<T> f, Duration timeout, String what) {
    try {
      return f.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new AssertionError(what + ": " + e.getMessage(), e);
    }
  }

  /** Undeploys the worker (control plane still up), removes its containers, closes the control plane and Vert.x. */
  @Override
  public void close() {
    try {
      if (deploymentId != null && vertx.deploymentIDs().contains(deploymentId)) {
        if (!cp.listening()) {
          cp.restart(); // a test that left it stopped: the shutdown's last reports have somewhere to go
        }
        undeploy();
      }
    } finally {
      try {
        if (backend instanceof DockerBackendFactory && options != null) {
          Engine.removeContainersOf(workerId());
        }
      } finally {
        try {
          cp.close();
          cpVertx.close().await(30, TimeUnit.SECONDS);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        } finally {
          testVertx.close();
        }
      }
    }
  }
}
