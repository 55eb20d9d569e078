package dev.oz.worker.logs;

import java.util.ArrayDeque;

/**
 * A FIFO of bytes in fixed-size blocks: appends copy in bulk into the last block, removal is from the head
 * only, and emptied blocks (a few) are kept for the next appends, so a steady stream allocates nothing. Not
 * thread-safe.
 */
final class ByteQueue implements Redactor.Sink {
  static final int BLOCK_BYTES = 16 * 1024;
  /** Emptied blocks kept: a 64 KiB chunk's worth, so a quiet task keeps little. */
  private static final int SPARE_BLOCKS = 4;

  private final ArrayDeque<byte[]> blocks = new ArrayDeque<>();
  private final ArrayDeque<byte[]> spare = new ArrayDeque<>(SPARE_BLOCKS);
  /** Read position in the first block. */
  private int head;
  /** Write position in the last block. */
  private int tail;
  private long size;

  @Override
  public void write(byte[] bytes, int offset, int length) {
    while (length > 0) {
      if (blocks.isEmpty() || tail == BLOCK_BYTES) {
        blocks.addLast(newBlock());
        tail = 0;
      }
      int n = Math.min(length, BLOCK_BYTES - tail);
      System.arraycopy(bytes, offset, blocks.peekLast(), tail, n);
      tail += n;
      offset += n;
      length -= n;
      size += n;
    }
  }

  void add(byte[] bytes) {
    write(bytes, 0, bytes.length);
  }

  long size() {
    return size;
  }

  /** Copies up to {@code max} bytes from the head into {@code dst} without removing them. */
  int peek(byte[] dst, int max) {
    int copied = 0;
    int i = 0;
    int last = blocks.size() - 1;
    for (byte[] block : blocks) {
      if (copied >= max) {
        break;
      }
      int from = i == 0 ? head : 0;
      int to = i == last ? tail : BLOCK_BYTES;
      int n = Math.min(to - from, max - copied);
      System.arraycopy(block, from, dst, copied, n);
      copied += n;
      i++;
    }
    return copied;
  }

  /** Removes {@code n} bytes from the head. */
  void skip(long n) {
    long left = Math.min(n, size);
    size -= left;
    while (left > 0) {
      int end = blocks.size() == 1 ? tail : BLOCK_BYTES;
      int avail = end - head;
      if (left >= avail) {
        recycle(blocks.pollFirst());
        head = 0;
        left -= avail;
      } else {
        head += (int) left;
        left = 0;
      }
    }
    if (size == 0 && !blocks.isEmpty()) {
      recycle(blocks.pollFirst());
      head = 0;
    }
  }

  /** The head byte; the queue must not be empty. */
  byte first() {
    return blocks.peekFirst()[head];
  }

  private byte[] newBlock() {
    byte[] b = spare.pollFirst();
    return b != null ? b : new byte[BLOCK_BYTES];
  }

  private void recycle(byte[] block) {
    if (spare.size() < SPARE_BLOCKS) {
      spare.addFirst(block);
    }
  }
}
