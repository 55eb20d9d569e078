package dev.oz.worker.task;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;

/**
 * Orders a graceful shutdown across the worker's verticles. Vert.x stops child verticles together, before
 * their parent; the lifecycle drains tasks (which still needs the backend and log streaming), so those wait
 * here for {@link #tasksDrained()} before releasing anything, and the connection (the parent) stops last.
 */
public final class ShutdownCoordinator {
  private final Promise<Void> drained = Promise.promise();
  private final Promise<Void> skipGrace = Promise.promise();

  /** Completes once every task has its terminal report queued (or there was nothing to drain). */
  public Future<Void> tasksDrained() {
    return drained.future();
  }

  /** As {@link #tasksDrained()}, completing on {@code context} so the caller stays on its own event loop. */
  public Future<Void> tasksDrained(Context context) {
    return onContext(context, drained.future());
  }

  static Future<Void> onContext(Context context, Future<Void> future) {
    Promise<Void> hop = Promise.promise();
    future.onComplete(ar -> context.runOnContext(v -> hop.handle(ar)));
    return hop.future();
  }

  public void markDrained() {
    drained.tryComplete();
  }

  /** A second signal: cancel running tasks now instead of waiting out the grace period. */
  public void skipGrace() {
    skipGrace.tryComplete();
  }

  public Future<Void> graceSkipped(Context context) {
    return onContext(context, skipGrace.future());
  }
}
