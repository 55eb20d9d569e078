package dev.oz.worker.controlplane;

import java.time.Duration;
import java.util.function.DoubleSupplier;

/**
 * Reconnect delays: from {@code initial}, doubling, capped at {@code max}. Each delay is reduced by up to
 * 20% at random so a fleet that lost the control plane together does not come back in lockstep; the cap
 * is never exceeded.
 */
final class Backoff {
  private static final double JITTER = 0.2;

  private final long initialMs;
  private final long maxMs;
  private final DoubleSupplier random;
  private long nextMs;

  Backoff(Duration initial, Duration max, DoubleSupplier random) {
    this.initialMs = initial.toMillis();
    this.maxMs = max.toMillis();
    this.random = random;
    this.nextMs = initialMs;
  }

  /** The delay before the next attempt; each call doubles the following one. */
  long nextDelayMs() {
    long base = nextMs;
    nextMs = Math.min(maxMs, nextMs * 2);
    return Math.max(1, base - (long) (base * JITTER * random.getAsDouble()));
  }

  /** Jumps to the cap: used when retrying sooner cannot help (the API key was refused). */
  void toMax() {
    nextMs = maxMs;
  }

  void reset() {
    nextMs = initialMs;
  }
}
