package dev.oz.worker.direct;

import java.nio.charset.StandardCharsets;

/** The last bytes a task's commands printed (both streams), for the worker log when one fails. Thread-safe. */
final class OutputTail {
  private final byte[] ring;
  private long written;

  OutputTail(int capacity) {
    ring = new byte[capacity];
  }

  synchronized void add(byte[] bytes, int length) {
    int from = Math.max(0, length - ring.length);
    written += from;
    for (int i = from; i < length; i++) {
      ring[(int) (written++ % ring.length)] = bytes[i];
    }
  }

  /** What is kept, from the first whole line on when older output was dropped. */
  synchronized String text() {
    int n = (int) Math.min(written, ring.length);
    byte[] out = new byte[n];
    int start = (int) ((written - n) % ring.length);
    for (int i = 0; i < n; i++) {
      out[i] = ring[(start + i) % ring.length];
    }
    String s = new String(out, StandardCharsets.UTF_8);
    if (written > ring.length && s.indexOf('\n') >= 0) {
      s = s.substring(s.indexOf('\n') + 1);
    }
    return s;
  }
}
