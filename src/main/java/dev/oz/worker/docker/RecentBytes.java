package dev.oz.worker.docker;

/** The last {@code capacity} bytes written, in order. Used from one thread at a time. */
final class RecentBytes {
  private final byte[] ring;
  private long written;

  RecentBytes(int capacity) {
    ring = new byte[capacity];
  }

  void add(byte[] bytes, int offset, int length) {
    int skip = Math.max(0, length - ring.length);
    written += skip; // those bytes are overwritten anyway
    for (int i = offset + skip; i < offset + length; i++) {
      ring[(int) (written++ % ring.length)] = bytes[i];
    }
  }

  byte[] toArray() {
    int n = (int) Math.min(written, ring.length);
    byte[] out = new byte[n];
    for (int i = 0; i < n; i++) {
      out[i] = ring[(int) ((written - n + i) % ring.length)];
    }
    return out;
  }
}
