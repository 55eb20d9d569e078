package dev.oz.worker.logs;

import java.util.ArrayDeque;

/** A FIFO of bytes made of appended segments; removal from the head only. Not thread-safe. */
final class ByteQueue {
  private final ArrayDeque<byte[]> segments = new ArrayDeque<>();
  private int headOffset;
  private long size;

  void add(byte[] bytes) {
    if (bytes.length > 0) {
      segments.addLast(bytes);
      size += bytes.length;
    }
  }

  long size() {
    return size;
  }

  /** Copies up to {@code max} bytes from the head into {@code dst} without removing them. */
  int peek(byte[] dst, int max) {
    int copied = 0;
    int offset = headOffset;
    for (byte[] seg : segments) {
      if (copied >= max) {
        break;
      }
      int n = Math.min(seg.length - offset, max - copied);
      System.arraycopy(seg, offset, dst, copied, n);
      copied += n;
      offset = 0;
    }
    return copied;
  }

  /** Removes {@code n} bytes from the head. */
  void skip(long n) {
    long left = Math.min(n, size);
    size -= left;
    while (left > 0) {
      byte[] head = segments.peekFirst();
      int avail = head.length - headOffset;
      if (left >= avail) {
        segments.pollFirst();
        headOffset = 0;
        left -= avail;
      } else {
        headOffset += (int) left;
        left = 0;
      }
    }
  }

  /** The head byte; the queue must not be empty. */
  byte first() {
    return segments.peekFirst()[headOffset];
  }
}
