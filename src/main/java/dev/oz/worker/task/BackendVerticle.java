package dev.oz.worker.task;

import dev.oz.worker.backend.Availability;
import dev.oz.worker.backend.BackendCapabilities;
import dev.oz.worker.backend.BackendContext;
import dev.oz.worker.backend.BackendFactory;
import dev.oz.worker.backend.TaskBackend;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.bus.Addresses;
import dev.oz.worker.bus.ShutdownCoordinator;
import dev.oz.worker.bus.Deadline;
import dev.oz.worker.bus.WorkerBus;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.protocol.FailureReason;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Puts a {@link TaskBackend} on the event bus: execute, cancel and "reported" in, outcomes out. */
public final class BackendVerticle<O> extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(BackendVerticle.class);

  private final WorkerOptions options;
  private final WorkerBus bus;
  private final BackendFactory<O> factory;
  private final O backendOptions;
  private final ShutdownCoordinator shutdown;
  private TaskBackend backend;
  private Availability availability = Availability.AVAILABLE;

  /** Parses the backend's settings block at once, so a bad block fails before anything is deployed. */
  public BackendVerticle(WorkerOptions options, WorkerBus bus, BackendFactory<O> factory, ShutdownCoordinator shutdown) {
    this.options = options;
    this.bus = bus;
    this.factory = factory;
    this.backendOptions = factory.options(options.getBackendBlock(factory.name()), options.getHostEnv());
    this.shutdown = shutdown;
  }

  public BackendCapabilities capabilities() {
    return factory.capabilities(backendOptions);
  }

  @Override
  public Future<?> start() {
    backend = factory.create(new BackendContext<>(vertx, options, backendOptions, options.getHostEnv()));
    return backend.start().onSuccess(v -> {
      bus.<ExecuteTask>consumer(Addresses.EXECUTE, msg -> execute(msg.body()));
      bus.<CancelTask>consumer(Addresses.CANCEL, msg -> backend.cancel(msg.body().taskId(), msg.body().reason())
          .onFailure(err -> log.warn("Cancelling task {} failed: {}", msg.body().taskId(), err.getMessage())));
      bus.<Object>consumer(Addresses.ADOPTABLE, msg -> backend.adoptable()
          .onSuccess(tasks -> bus.reply(msg, new AdoptableTasks(tasks)))
          .onFailure(err -> msg.fail(500, String.valueOf(err.getMessage()))));
      bus.<ResumeTask>consumer(Addresses.RESUME, msg -> resume(msg.body()));
      bus.<TaskReported>consumer(Addresses.REPORTED, msg -> backend.reported(msg.body().taskId()));
      // an announced outage answers at once: readiness follows it without asking the engine
      bus.<Object>consumer(Addresses.BACKEND_HEALTH, msg -> (availability.available() ? backend.checkHealth()
              : Future.<Void>failedFuture(availability.detail()))
          .onSuccess(ok -> msg.reply(null))
          .onFailure(err -> msg.fail(503, String.valueOf(err.getMessage()))));
      bus.<Object>consumer(Addresses.BACKEND_AVAILABILITY_NOW, msg -> bus.reply(msg, availability));
      backend.availabilityChanges(a -> {
        availability = a;
        bus.publish(Addresses.BACKEND_AVAILABILITY, a);
      });
    });
  }

  private void execute(ExecuteTask request) {
    run(request.task().taskId(), () -> backend.execute(request.task(), request.output()));
  }

  private void resume(ResumeTask request) {
    run(request.task().taskId(), () -> backend.resume(request.task(), request.output()));
  }

  private void run(String taskId, java.util.function.Supplier<Future<TaskOutcome>> call) {
    Future<TaskOutcome> outcome;
    try {
      outcome = call.get();
    } catch (RuntimeException e) {
      outcome = Future.failedFuture(e);
    }
    outcome
        .recover(err -> {
          log.error("Task {}: backend error", taskId, err);
          return Future.succeededFuture(TaskOutcome.failed(FailureReason.UNKNOWN, String.valueOf(err.getMessage())));
        })
        .onSuccess(o -> bus.send(Addresses.FINISHED, new TaskFinished(taskId, o)));
  }

  @Override
  public Future<?> stop() {
    if (backend == null) {
      return Future.succeededFuture();
    }
    // Tasks are cancelled through this backend while the lifecycle drains; release it only afterwards.
    Duration cap = options.getShutdownGracePeriod().plus(capabilities().cancelTimeout()).plusSeconds(60);
    return Deadline.atMost(vertx, shutdown.tasksDrained(context), cap.toMillis(), () -> { })
        .compose(v -> backend.shutdown());
  }
}
