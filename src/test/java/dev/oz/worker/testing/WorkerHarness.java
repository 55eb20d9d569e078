package dev.oz.worker.testing;

import dev.oz.worker.WorkerVerticle;
import dev.oz.worker.docker.PullPolicy;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.backend.BackendFactory;
import dev.oz.worker.docker.DockerBackendFactory;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A worker with the real Docker backend, connected to a loopback control plane, for end-to-end tests:
 * assign tasks, wait for reports, inspect what the engine ran. Each harness has its own worker id, so its
 * containers are easy to find and to clean up.
 */
public final class WorkerHarness implements AutoCloseable {
  public static final Duration TASK_TIMEOUT = Duration.ofSeconds(60);

  public final TestVertx testVertx;
  public final Vertx vertx;
  /** The control plane runs on a Vert.x of its own, as it would in another process. */
  public final LoopbackControlPlane cp;
  private final Vertx cpVertx;
  public final WorkerOptions options;
  private final BackendFactory<?> backend;
  private String deploymentId;
  private WorkerVerticle worker;

  private WorkerHarness(VertxOptions vertxOptions, Consumer<WorkerOptions> customize, BackendFactory<?> backend) {
    Engine.docker();
    testVertx = TestVertx.create(vertxOptions);
    vertx = testVertx.vertx();
    cpVertx = Vertx.vertx();
    cp = LoopbackControlPlane.start(cpVertx);
    options = new WorkerOptions()
        .setApiKey("it-api-key-" + UUID.randomUUID())
        .setWorkerId("it-" + UUID.randomUUID().toString().substring(0, 8))
        .setWsUrl(cp.wsUrl())
        .setServerRootUrl("http://127.0.0.1:9");
    DockerSettings.edit(options, d -> d.setPullPolicy(List.of(PullPolicy.NEVER)).setCancelGracePeriod(Duration.ofSeconds(3)));
    options.getConnection().setReconnectInitial(Duration.ofMillis(100)).setReconnectMax(Duration.ofMillis(500))
        .setCloseTimeout(Duration.ofSeconds(5));
    options.getMetrics().setEnabled(false);
    options.getTelemetry().disableExport(); // no pushes to a collector that is not there
    customize.accept(options);
    this.backend = backend;
  }

  public static WorkerHarness start(Consumer<WorkerOptions> customize) {
    return start(new VertxOptions(), customize);
  }

  public static WorkerHarness start(VertxOptions vertxOptions, Consumer<WorkerOptions> customize) {
    return start(vertxOptions, customize, new DockerBackendFactory());
  }

  /** With a Docker backend of the test's making, e.g. one that finds the engine through a given environment. */
  public static WorkerHarness start(VertxOptions vertxOptions, Consumer<WorkerOptions> customize, BackendFactory<?> backend) {
    WorkerHarness h = new WorkerHarness(vertxOptions, customize, backend);
    h.deploy();
    return h;
  }

  public void deploy() {
    int before = cp.handshakes().size();
    try {
      worker = new WorkerVerticle(options, backend, null);
      deploymentId = vertx.deployVerticle(worker).await(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("worker did not start: " + e.getMessage(), e);
    }
    cp.awaitConnections(before + 1, Duration.ofSeconds(10));
  }

  public void undeploy() {
    try {
      vertx.undeploy(deploymentId).await(120, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("undeploy failed: " + e.getMessage(), e);
    }
  }

  /** The ops server's port (metrics enabled with port 0), -1 without it. */
  public int metricsPort() {
    return worker == null ? -1 : worker.metricsPort();
  }

  public String workerId() {
    return options.getWorkerId();
  }

  public void assign(JsonObject data) {
    cp.send(Assignments.envelope("task_assignment", data));
  }

  /** Assigns and waits for the task's terminal report. */
  public JsonObject run(JsonObject data) {
    assign(data);
    return awaitTerminal(data.getString("task_id"), TASK_TIMEOUT);
  }

  public JsonObject awaitTerminal(String taskId, Duration timeout) {
    return cp.await(m -> ("task_completed".equals(m.getString("type")) || "task_failed".equals(m.getString("type")))
        && taskId.equals(m.getJsonObject("data").getString("task_id")), timeout);
  }

  /** A task for the agent test image running {@code script} in /bin/sh. */
  public static JsonObject scriptTask(String taskId, String script) {
    return Assignments.data(taskId).put("docker_image", Engine.AGENT)
        .put("env_vars", new JsonObject().put("TEST_SCRIPT", script));
  }

  @Override
  public void close() {
    try {
      if (deploymentId != null && vertx.deploymentIDs().contains(deploymentId)) {
        undeploy();
      }
    } finally {
      Engine.removeContainersOf(workerId());
      try {
        testVertx.close();
      } finally {
        cpVertx.close();
      }
    }
  }
}
