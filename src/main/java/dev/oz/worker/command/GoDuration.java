package dev.oz.worker.command;

import java.math.BigDecimal;
import java.time.Duration;

/** A duration as Go's {@code time.Duration.String()} prints it ({@code 1m0s}, {@code 50ms}), for Go's messages. */
final class GoDuration {
  private GoDuration() {
  }

  static String format(Duration d) {
    long nanos = d.toNanos();
    if (nanos == 0) {
      return "0s";
    }
    String sign = nanos < 0 ? "-" : "";
    nanos = Math.abs(nanos);
    if (nanos < 1_000) {
      return sign + nanos + "ns";
    }
    if (nanos < 1_000_000) {
      return sign + fraction(nanos, 1_000) + "µs";
    }
    if (nanos < 1_000_000_000) {
      return sign + fraction(nanos, 1_000_000) + "ms";
    }
    long hours = nanos / 3_600_000_000_000L;
    long minutes = nanos / 60_000_000_000L % 60;
    long rest = nanos % 60_000_000_000L;
    StringBuilder s = new StringBuilder(sign);
    if (hours > 0) {
      s.append(hours).append('h');
    }
    if (hours > 0 || minutes > 0) {
      s.append(minutes).append('m');
    }
    return s.append(fraction(rest, 1_000_000_000)).append('s').toString();
  }

  private static String fraction(long value, long unit) {
    return new BigDecimal(value).divide(new BigDecimal(unit)).stripTrailingZeros().toPlainString();
  }
}
