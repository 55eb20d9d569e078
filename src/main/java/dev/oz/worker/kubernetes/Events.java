package dev.oz.worker.kubernetes;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.MicroTime;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;

/** Times of Kubernetes objects: RFC 3339 strings in fabric8's model, read the way the Go worker reads them. */
final class Events {
  private Events() {
  }

  /** An RFC 3339 timestamp, or null when empty or unreadable. */
  static Instant instant(String rfc3339) {
    if (rfc3339 == null || rfc3339.isEmpty()) {
      return null;
    }
    try {
      return OffsetDateTime.parse(rfc3339).toInstant();
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  private static Instant micro(MicroTime t) {
    return t == null ? null : instant(t.getTime());
  }

  /** When an event was first reported: first timestamp, else event time, else creation. */
  static Instant firstSeen(Event e) {
    Instant t = instant(e.getFirstTimestamp());
    if (t == null) {
      t = micro(e.getEventTime());
    }
    if (t == null) {
      t = instant(e.getLastTimestamp());
    }
    return t != null ? t : instant(e.getMetadata() == null ? null : e.getMetadata().getCreationTimestamp());
  }

  /** The latest occurrence: series, else last timestamp, else event time, else first timestamp, else creation. */
  static Instant lastSeen(Event e) {
    Instant t = e.getSeries() == null ? null : micro(e.getSeries().getLastObservedTime());
    if (t == null) {
      t = instant(e.getLastTimestamp());
    }
    if (t == null) {
      t = micro(e.getEventTime());
    }
    if (t == null) {
      t = instant(e.getFirstTimestamp());
    }
    return t != null ? t : instant(e.getMetadata() == null ? null : e.getMetadata().getCreationTimestamp());
  }

  /** As Go's RFC 3339 with nanoseconds: seconds only when whole, trailing zeros of the fraction dropped. */
  static String format(Instant t) {
    String s = t.toString();
    int dot = s.indexOf('.');
    if (dot < 0) {
      return s;
    }
    int end = s.length() - 1; // the 'Z'
    int last = end - 1;
    while (last > dot && s.charAt(last) == '0') {
      last--;
    }
    return last == dot ? s.substring(0, dot) + "Z" : s.substring(0, last + 1) + "Z";
  }
}
