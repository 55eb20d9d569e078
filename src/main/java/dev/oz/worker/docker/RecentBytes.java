package dev.oz.worker.docker;

import java.util.Arrays;

/**
 * The last {@code capacity} bytes written, in order: a ring filled by bulk copies. It grows to its capacity
 * only as output arrives, so a quiet task costs a few KiB. Used from one thread at a time.
 */
final class RecentBytes {
  private static final int INITIAL_BYTES = 4096;

  private final int capacity;
  private byte[] ring;
  /** Where the next byte goes. */
  private int next;
  /** Whether the ring wrapped: it then holds exactly its capacity. */
  private boolean full;

  RecentBytes(int capacity) {
    this.capacity = capacity;
    this.ring = new byte[Math.min(capacity, INITIAL_BYTES)];
  }

  void add(byte[] bytes, int offset, int length) {
    if (!full && next + length > ring.length && ring.length < capacity) {
      ring = Arrays.copyOf(ring, (int) Math.min(capacity, Math.max(2L * ring.length, (long) next + length)));
    }
    if (length >= ring.length) {
      System.arraycopy(bytes, offset + length - ring.length, ring, 0, ring.length);
      next = 0;
      full = true;
      return;
    }
    int first = Math.min(length, ring.length - next);
    System.arraycopy(bytes, offset, ring, next, first);
    System.arraycopy(bytes, offset + first, ring, 0, length - first);
    int end = next + length;
    if (end >= ring.length && ring.length == capacity) {
      full = true;
      end -= ring.length;
    }
    next = end; // below capacity, the next write grows the ring first
  }

  byte[] toArray() {
    if (!full) {
      return Arrays.copyOf(ring, next);
    }
    byte[] out = new byte[ring.length];
    System.arraycopy(ring, next, out, 0, ring.length - next);
    System.arraycopy(ring, 0, out, ring.length - next, next);
    return out;
  }
}
