package dev.oz.worker.docker;

import com.github.dockerjava.api.exception.DockerException;
import dev.oz.worker.backend.Availability;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the Docker engine answers, as one tracked state. While up nothing polls: the state is fed by what the
 * backend sees anyway (a failed engine call, {@link #suspect}; the events stream it keeps open ending) and a
 * suspicion is settled by one ping. While down, a ping with backoff (at most {@link #MAX_BACKOFF} apart) notices
 * the return. Each change is logged once and told to the listeners. Used on the backend's context only.
 */
final class EngineHealth {
  private static final Logger log = LoggerFactory.getLogger(EngineHealth.class);
  static final Duration FIRST_BACKOFF = Duration.ofMillis(100);
  static final Duration MAX_BACKOFF = Duration.ofSeconds(1);
  /** A watch that ends sooner than this after it opened is reopened only after this long (no tight loop). */
  static final Duration WATCH_REOPEN_DELAY = Duration.ofSeconds(1);
  static final String REJECT_REASON = "docker engine unavailable";

  /** How the engine is asked; both calls complete on the backend's context. */
  interface Probe {
    /** One cheap request with a short timeout. */
    Future<Void> ping();

    /** Opens a long-lived stream (the engine's events); completes when it ends, as it does when the engine goes. */
    Future<Void> watch();
  }

  private final Vertx vertx;
  private final String address;
  private final Probe probe;
  private final List<Handler<Availability>> listeners = new ArrayList<>();
  private Supplier<Future<Void>> onReturn = Future::succeededFuture;
  private boolean up = true;
  private String cause;
  private long downSinceNanos;
  private int outages;
  private Future<Boolean> pinging;
  private boolean watching;
  private long watchOpenedNanos;
  private long timer = -1;
  private Duration backoff = FIRST_BACKOFF;
  private Promise<Void> back = Promise.promise();
  private boolean closed;

  EngineHealth(Vertx vertx, String address, Probe probe) {
    this.vertx = vertx;
    this.address = address;
    this.probe = probe;
  }

  /** The engine answered at start: watch it. */
  void start() {
    openWatch();
  }

  boolean isUp() {
    return up;
  }

  /** How many outages began so far: a run that sees this change knows the engine went away meanwhile. */
  int outages() {
    return outages;
  }

  /** {@code Docker engine unreachable at ADDRESS: CAUSE} while down, else null. */
  String detail() {
    return up ? null : "Docker engine unreachable at " + address + ": " + cause;
  }

  Availability availability() {
    return up ? Availability.AVAILABLE : Availability.unavailable(REJECT_REASON, detail());
  }

  void onChange(Handler<Availability> listener) {
    listeners.add(listener);
  }

  /** Runs first when the engine answers again; the stream is reopened and everyone told once it completed. */
  void onReturn(Supplier<Future<Void>> action) {
    onReturn = action;
  }

  /** True when the engine answers now: while up, one ping (shared with any in flight); while down, false at once. */
  Future<Boolean> confirm() {
    if (!up || closed) {
      return Future.succeededFuture(up);
    }
    if (pinging == null) {
      Future<Boolean> ping = probe.ping().transform(ar -> {
        if (ar.succeeded()) {
          if (!watching && !closed) {
            long age = System.nanoTime() - watchOpenedNanos;
            long wait = WATCH_REOPEN_DELAY.toNanos() - age;
            if (wait > 0) {
              timer = vertx.setTimer(Math.max(1, wait / 1_000_000), id -> {
                timer = -1;
                if (up && !watching && !closed) {
                  openWatch();
                }
              });
            } else {
              openWatch();
            }
          }
          return Future.succeededFuture(true);
        }
        markDown(DockerEngine.rootMessage(ar.cause()));
        return Future.succeededFuture(false);
      });
      pinging = ping;
      ping.onComplete(ar -> {
        if (pinging == ping) {
          pinging = null;
        }
      });
      return ping;
    }
    return pinging;
  }

  /**
   * A failed engine call: when it failed in transport, or the engine answered with a server error (a stopping engine
   * answers calls on open connections with e.g. 500 "database not open"), the engine may be going.
   */
  void suspect(Throwable err) {
    if (up && (isTransportError(err) || isServerError(err))) {
      confirm();
    }
  }

  static boolean isServerError(Throwable err) {
    for (Throwable c = err; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof DockerException d) {
        return d.getHttpStatus() >= 500;
      }
    }
    return false;
  }

  /** An error of the connection (refused, reset, closed), not an answer of the engine. */
  static boolean isTransportError(Throwable err) {
    for (Throwable c = err; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof DockerException) {
        return false;
      }
      if (c instanceof IOException) {
        return true;
      }
    }
    return false;
  }

  /** True once the engine answers again (at once when up), false when {@code max} passed first. */
  Future<Boolean> whenUp(Duration max) {
    if (up) {
      return Future.succeededFuture(true);
    }
    Promise<Boolean> result = Promise.promise();
    long t = vertx.setTimer(Math.max(1, max.toMillis()), id -> result.tryComplete(false));
    back.future().onSuccess(v -> {
      vertx.cancelTimer(t);
      result.tryComplete(true);
    });
    return result.future();
  }

  /** Completes when the engine answers (at once when up); never while it stays away. */
  Future<Void> whenBack() {
    return up ? Future.succeededFuture() : back.future();
  }

  void close() {
    closed = true;
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
  }

  private void openWatch() {
    watching = true;
    watchOpenedNanos = System.nanoTime();
    probe.watch().onComplete(ar -> {
      watching = false;
      if (!closed && up) {
        confirm();
      }
    });
  }

  private void markDown(String why) {
    if (!up || closed) {
      return;
    }
    up = false;
    cause = why;
    downSinceNanos = System.nanoTime();
    outages++;
    back = Promise.promise();
    log.warn("{}", detail());
    tell();
    backoff = FIRST_BACKOFF;
    schedulePing();
  }

  private void schedulePing() {
    timer = vertx.setTimer(backoff.toMillis(), id -> {
      timer = -1;
      if (closed) {
        return;
      }
      probe.ping().onComplete(ar -> {
        if (closed) {
          return;
        }
        if (ar.succeeded()) {
          markUp();
        } else {
          cause = DockerEngine.rootMessage(ar.cause());
          backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
          schedulePing();
        }
      });
    });
  }

  private void markUp() {
    onReturn.get().onComplete(ar -> {
      if (closed) {
        return;
      }
      if (ar.failed()) {
        log.debug("Preparing for the engine's return: {}", ar.cause().getMessage());
      }
      up = true;
      cause = null;
      double seconds = (System.nanoTime() - downSinceNanos) / 1e9;
      log.info("Docker engine back after {}", String.format(Locale.ROOT, "%.1fs", seconds));
      openWatch();
      tell();
      back.tryComplete();
    });
  }

  private void tell() {
    Availability now = availability();
    for (Handler<Availability> l : List.copyOf(listeners)) {
      l.handle(now);
    }
  }
}
