package dev.oz.worker.bus;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

/** Waiting for something, but not forever: the shutdown and drain paths all need it. */
public final class Deadline {
  private Deadline() {
  }

  /**
   * Completes when {@code future} completes (either way) or after {@code ms}, whichever comes first; on the
   * timeout {@code onTimeout} runs first. Never fails. Call on a Vert.x context.
   */
  public static Future<Void> atMost(Vertx vertx, Future<?> future, long ms, Runnable onTimeout) {
    Promise<Void> done = Promise.promise();
    long timer = vertx.setTimer(Math.max(1, ms), id -> {
      onTimeout.run();
      done.tryComplete();
    });
    future.onComplete(ar -> {
      vertx.cancelTimer(timer);
      done.tryComplete();
    });
    return done.future();
  }
}
