package dev.oz.worker.docker;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Pulls shared between tasks. Concurrent tasks needing the same image with the same credentials share one
 * pull: the engine would run theirs one after the other, each asking the registry again. A pull that failed
 * because the registry could not be reached is not tried again for that registry for a short window: the
 * tasks in it fail their pull at once, with the original error and when the next attempt will be, and fall
 * back as their pull policy says. A task leaving (cancelled) stops waiting; the pull itself stops once no
 * task waits for it. Used on the backend's context only.
 */
final class SharedPulls {
  static final Duration UNREACHABLE_WINDOW = Duration.ofSeconds(30);

  /** One pull in progress: its outcome and how to stop it. */
  record Started(Future<Void> done, Closeable stream) {
  }

  /** A pull not attempted because the registry was unreachable moments ago. */
  static final class RegistryUnreachable extends RuntimeException {
    RegistryUnreachable(String message) {
      super(message, null, false, false);
    }
  }

  private record Unreachable(long sinceNanos, String error) {
  }

  private static final class Flight {
    final Started pull;
    int waiting;

    Flight(Started pull) {
      this.pull = pull;
    }
  }

  private final LongSupplier nanoTime;
  private final long windowNanos;
  private final Map<String, Flight> flights = new HashMap<>();
  private final Map<String, Unreachable> unreachable = new HashMap<>();

  SharedPulls() {
    this(System::nanoTime, UNREACHABLE_WINDOW);
  }

  SharedPulls(LongSupplier nanoTime, Duration unreachableWindow) {
    this.nanoTime = nanoTime;
    this.windowNanos = unreachableWindow.toNanos();
  }

  /**
   * Fails at once if {@code registry} was unreachable within the window; otherwise null, and the caller
   * goes on to {@link #pull}.
   */
  Future<Void> recentlyUnreachable(String registry) {
    Unreachable u = unreachable.get(registry);
    if (u == null) {
      return null;
    }
    long age = nanoTime.getAsLong() - u.sinceNanos;
    if (age >= windowNanos) {
      unreachable.remove(registry);
      return null;
    }
    return Future.failedFuture(new RegistryUnreachable("registry " + registry + " was unreachable "
        + seconds(age) + " s ago (" + u.error + "); not asked again for " + seconds(windowNanos - age) + " s"));
  }

  /**
   * Joins the pull of {@code key} (image and credentials) in progress, or starts one with {@code start}
   * unless {@code registry} was unreachable within the window; an unreachable registry is remembered.
   */
  Future<Void> pull(String key, String registry, CancelScope scope, Supplier<Started> start) {
    Flight flight = flights.get(key);
    if (flight == null) {
      Future<Void> skipped = recentlyUnreachable(registry); // a pull may have failed since the caller checked
      if (skipped != null) {
        return skipped;
      }
      Flight started = new Flight(start.get());
      flights.put(key, started);
      started.pull.done().onComplete(ar -> {
        flights.remove(key, started);
        if (ar.failed() && isUnreachable(ar.cause())) {
          unreachable.put(registry, new Unreachable(nanoTime.getAsLong(), DockerEngine.rootMessage(ar.cause())));
        }
      });
      flight = started;
    }
    Flight joined = flight;
    joined.waiting++;
    Promise<Void> mine = Promise.promise();
    joined.pull.done().onComplete(ar -> {
      if (ar.succeeded() ? mine.tryComplete() : mine.tryFail(ar.cause())) {
        joined.waiting--;
      }
    });
    scope.add(() -> {
      if (mine.tryFail("cancelled") && --joined.waiting == 0) {
        // nobody waits any more: stop the pull, and let the next task start a fresh one
        flights.remove(key, joined);
        quietly(joined.pull.stream());
      }
    });
    return mine.future();
  }

  /** Whether a pull failed before reaching the registry (name resolution, connect, TLS, timeouts). */
  static boolean isUnreachable(Throwable error) {
    String m = DockerEngine.rootMessage(error).toLowerCase(Locale.ROOT);
    return m.contains("dial tcp") || m.contains("connection refused") || m.contains("no such host")
        || m.contains("i/o timeout") || m.contains("network is unreachable") || m.contains("no route to host")
        || m.contains("tls handshake timeout") || m.contains("connection reset by peer")
        || m.contains("server misbehaving") || m.contains("context deadline exceeded")
        || m.contains("client.timeout exceeded");
  }

  private static long seconds(long nanos) {
    return Math.max(1, Math.round(nanos / 1e9));
  }

  private static void quietly(Closeable c) {
    try {
      c.close();
    } catch (IOException | RuntimeException ignored) {
      // already closed
    }
  }
}
