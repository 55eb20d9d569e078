package dev.oz.worker.bench;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Small helpers for the benchmark: the wall clock the engine's events use, percentiles, sleeping. */
final class Bench {
  private Bench() {
  }

  /** Epoch nanoseconds (microsecond resolution), comparable with the engine's event times. */
  static long now() {
    Instant i = Instant.now();
    return i.getEpochSecond() * 1_000_000_000L + i.getNano();
  }

  /** Nearest-rank percentile of {@code values}, {@code p} in (0, 1]. */
  static double percentile(List<? extends Number> values, double p) {
    List<Double> sorted = new ArrayList<>();
    for (Number v : values) {
      sorted.add(v.doubleValue());
    }
    Collections.sort(sorted);
    int rank = (int) Math.ceil(p * sorted.size());
    return sorted.get(Math.max(0, rank - 1));
  }

  static double median(List<? extends Number> values) {
    return percentile(values, 0.5);
  }

  static double ms(long nanos) {
    return nanos / 1e6;
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
