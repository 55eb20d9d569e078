package dev.oz.worker.docker;

import dev.oz.worker.protocol.FailureReason;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.WorkerExecutor;
import java.util.concurrent.Callable;

/**
 * Where blocking docker-java calls run: a worker pool of the backend's own, never an event loop. Results come
 * back on the backend's context. Also adapts docker-java's callback threads to that context.
 */
final class Blocking {
  private final WorkerExecutor executor;
  private final Context context;
  private Handler<Throwable> failures = err -> { };

  Blocking(WorkerExecutor executor, Context context) {
    this.executor = executor;
    this.context = context;
  }

  <T> Future<T> run(Callable<T> call) {
    return executor.executeBlocking(call, false).onFailure(failures);
  }

  /** Every failed call is shown to {@code observer} too (on the backend's context): engine health listens. */
  void observeFailures(Handler<Throwable> observer) {
    failures = observer;
  }

  /** Runs a blocking call; any failure becomes a {@link TaskFailure} with {@code reason} and {@code what}. */
  <T> Future<T> phase(FailureReason reason, String what, Callable<T> call) {
    return run(call).recover(err -> Future.failedFuture(err instanceof TaskFailure ? err
        : new TaskFailure(reason, what + ": " + DockerEngine.rootMessage(err), err)));
  }

  /** Runs {@code action} on the backend's context; for docker-java callback threads. */
  void onContext(Runnable action) {
    context.runOnContext(v -> action.run());
  }

  Future<Void> close() {
    return executor.close();
  }
}
