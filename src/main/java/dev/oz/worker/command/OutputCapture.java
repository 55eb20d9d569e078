package dev.oz.worker.command;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * What a dispatch or cancel command printed on one stream, bounded: the first and the last {@code half} bytes, and
 * how much was left out between them. Thread-safe (written on NuProcess's thread, read on the backend's).
 */
final class OutputCapture {
  private final int half;
  private final ByteArrayOutputStream head = new ByteArrayOutputStream();
  private final byte[] tail;
  private long total;

  OutputCapture(int half) {
    this.half = half;
    this.tail = new byte[half];
  }

  synchronized void add(byte[] bytes, int length) {
    for (int i = 0; i < length; i++) {
      if (total < half) {
        head.write(bytes[i]);
      } else {
        tail[(int) ((total - half) % half)] = bytes[i];
      }
      total++;
    }
  }

  synchronized String text() {
    StringBuilder s = new StringBuilder(head.toString(StandardCharsets.UTF_8));
    long inTail = Math.min(total - half, half);
    if (inTail <= 0) {
      return s.toString();
    }
    long omitted = total - half - inTail;
    if (omitted > 0) {
      s.append("\n[... ").append(omitted).append(" bytes omitted ...]\n");
    }
    byte[] t = new byte[(int) inTail];
    long start = total - half - inTail;
    for (int i = 0; i < inTail; i++) {
      t[i] = tail[(int) ((start + i) % half)];
    }
    return s.append(new String(t, StandardCharsets.UTF_8)).toString();
  }
}
