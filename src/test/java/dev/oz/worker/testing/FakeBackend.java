package dev.oz.worker.testing;

import dev.oz.worker.backend.Availability;
import dev.oz.worker.backend.BackendCapabilities;
import dev.oz.worker.backend.BackendContext;
import dev.oz.worker.backend.BackendFactory;
import dev.oz.worker.backend.TaskDescription;
import dev.oz.worker.config.GoYamlBlock;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import dev.oz.worker.backend.TaskOutput;
import dev.oz.worker.backend.CancelReason;
import dev.oz.worker.backend.TaskBackend;
import dev.oz.worker.backend.TaskOutcome;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** A backend the test drives: tasks run until the test completes them; cancellations are recorded. */
public final class FakeBackend implements TaskBackend, BackendFactory<Void> {
  private volatile Context context;
  private final Map<String, Promise<TaskOutcome>> running = new ConcurrentHashMap<>();
  private final Map<String, TaskOutput> outputs = new ConcurrentHashMap<>();
  private final List<TaskDescription> executed = new CopyOnWriteArrayList<>();
  private final List<String> cancels = new CopyOnWriteArrayList<>();
  private final List<String> reported = new CopyOnWriteArrayList<>();
  private volatile boolean shutDown;
  private volatile boolean healthy = true;
  private volatile Handler<Availability> availabilityListener = a -> { };

  @Override
  public String name() {
    return "fake";
  }

  @Override
  public JsonObject fromGoYaml(GoYamlBlock block, Map<String, String> hostEnv) {
    return new JsonObject();
  }

  @Override
  public Void options(JsonObject block, Map<String, String> hostEnv) {
    return null;
  }

  private volatile BackendCapabilities capabilities = BackendCapabilities.local(Duration.ofSeconds(1));

  @Override
  public BackendCapabilities capabilities(Void options) {
    return capabilities;
  }

  public void setCapabilities(BackendCapabilities capabilities) {
    this.capabilities = capabilities;
  }

  @Override
  public TaskBackend create(BackendContext<Void> backend) {
    context = backend.vertx().getOrCreateContext();
    return this;
  }

  @Override
  public Future<TaskOutcome> execute(TaskDescription spec, TaskOutput output) {
    Promise<TaskOutcome> p = Promise.promise();
    running.put(spec.taskId(), p);
    outputs.put(spec.taskId(), output);
    executed.add(spec);
    return p.future();
  }

  @Override
  public Future<Void> cancel(String taskId, CancelReason reason) {
    cancels.add(taskId + ":" + reason);
    Promise<TaskOutcome> p = running.remove(taskId);
    if (p != null) {
      p.tryComplete(TaskOutcome.cancelled());
    }
    return Future.succeededFuture();
  }

  @Override
  public void reported(String taskId) {
    reported.add(shutDown ? taskId + " (after shutdown)" : taskId);
  }

  @Override
  public Future<Void> shutdown() {
    shutDown = true;
    return Future.succeededFuture();
  }

  @Override
  public Future<Void> checkHealth() {
    return healthy ? Future.succeededFuture() : Future.failedFuture("engine unreachable");
  }

  @Override
  public void availabilityChanges(Handler<Availability> listener) {
    availabilityListener = listener;
  }

  /** Announces an outage or its end, as a backend whose engine went away and came back would. */
  public void announce(Availability availability) {
    context.runOnContext(v -> availabilityListener.handle(availability));
  }

  public void setHealthy(boolean healthy) {
    this.healthy = healthy;
  }

  /**
   * Ends a running task with {@code outcome} (on the backend's context, as a real backend would); first waits for
   * the task to reach the backend, which it does only after its claim went out.
   */
  public void complete(String taskId, TaskOutcome outcome) {
    Waits.until(() -> isRunning(taskId), WorkerHarness.WAIT, () -> "task " + taskId + " never reached the backend");
    context.runOnContext(v -> {
      Promise<TaskOutcome> p = running.remove(taskId);
      if (p == null) {
        throw new IllegalStateException("task " + taskId + " is not running");
      }
      p.complete(outcome);
    });
  }

  public List<TaskDescription> executed() {
    return List.copyOf(executed);
  }

  public List<String> cancels() {
    return List.copyOf(cancels);
  }

  /** The tasks the lifecycle said it reported ({@link TaskBackend#reported}), in order. */
  public List<String> reported() {
    return List.copyOf(reported);
  }

  public TaskOutput output(String taskId) {
    return outputs.get(taskId);
  }

  public boolean isRunning(String taskId) {
    return running.containsKey(taskId);
  }

  public boolean isShutDown() {
    return shutDown;
  }
}
