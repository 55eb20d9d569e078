package dev.oz.worker.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Go-style durations ("250ms", "10s", "1m30s", "2h"), the format operators already use with the Go worker. */
public final class Durations {
  private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|µs|ms|s|m|h)");

  private Durations() {
  }

  public static Duration parse(String setting, String text) {
    if (text == null || text.isBlank()) {
      throw new ConfigException(setting + ": empty duration (use a value like \"10s\")");
    }
    String s = text.trim();
    if (s.equals("0")) {
      return Duration.ZERO;
    }
    Matcher m = PART.matcher(s);
    int pos = 0;
    double nanos = 0;
    while (pos < s.length()) {
      if (!m.find(pos) || m.start() != pos) {
        throw new ConfigException(setting + ": invalid duration \"" + text + "\" (use a value like \"250ms\", \"10s\" or \"1m30s\")");
      }
      nanos += Double.parseDouble(m.group(1)) * unitNanos(m.group(2));
      pos = m.end();
    }
    return Duration.ofNanos(Math.round(nanos));
  }

  /** Whether {@code text} parses as a Go-style duration. */
  public static boolean isDuration(String text) {
    try {
      parse("", text);
      return true;
    } catch (ConfigException e) {
      return false;
    }
  }

  /** Formats the way Go prints durations, so values round-trip through config files. */
  public static String format(Duration d) {
    if (d.isZero()) {
      return "0s";
    }
    long ms = d.toMillis();
    if (ms % 1000 != 0 || ms < 1000) {
      return ms + "ms";
    }
    long s = ms / 1000;
    StringBuilder out = new StringBuilder();
    if (s >= 3600) {
      out.append(s / 3600).append('h');
      s %= 3600;
    }
    if (s >= 60) {
      out.append(s / 60).append('m');
      s %= 60;
    }
    if (s > 0) {
      out.append(s).append('s');
    }
    return out.toString();
  }

  private static double unitNanos(String unit) {
    switch (unit) {
      case "ns": return 1;
      case "us":
      case "µs": return 1e3;
      case "ms": return 1e6;
      case "s": return 1e9;
      case "m": return 60e9;
      default: return 3600e9;
    }
  }
}
