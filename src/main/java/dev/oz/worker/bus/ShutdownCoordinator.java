package dev.oz.worker.bus;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;

/**
 * Orders a graceful shutdown across the worker's verticles, which Vert.x stops together: the lifecycle drains tasks
 * (which still needs the backend and log streaming, so those wait for {@link #tasksDrained()} before releasing
 * anything); log streaming then flushes ({@link #logsFlushed()}); the connection delivers what is left and closes
 * ({@link #connectionClosed()}), while the lifecycle keeps answering late assignments until then.
 */
public final class ShutdownCoordinator {
  private final Promise<Void> drained = Promise.promise();
  private final Promise<Void> logsFlushed = Promise.promise();
  private final Promise<Void> connectionClosed = Promise.promise();
  private final Promise<Void> skipGrace = Promise.promise();
  /** Set from any thread (a signal handler) the moment a shutdown is decided, before the verticles hear of it. */
  private volatile boolean stopping;

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

  public Future<Void> logsFlushed(Context context) {
    return onContext(context, logsFlushed.future());
  }

  public void markLogsFlushed() {
    logsFlushed.tryComplete();
  }

  public Future<Void> connectionClosed(Context context) {
    return onContext(context, connectionClosed.future());
  }

  public void markConnectionClosed() {
    connectionClosed.tryComplete();
  }

  /** No new work from now on: read by the lifecycle for every assignment, so none slips in before its stop() runs. */
  public void markStopping() {
    stopping = true;
  }

  public boolean stopping() {
    return stopping;
  }

  /** A second signal: cancel running tasks now instead of waiting out the grace period. */
  public void skipGrace() {
    skipGrace.tryComplete();
  }

  public Future<Void> graceSkipped(Context context) {
    return onContext(context, skipGrace.future());
  }
}
