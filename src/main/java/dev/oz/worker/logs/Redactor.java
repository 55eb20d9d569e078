package dev.oz.worker.logs;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Replaces secrets in a byte stream with {@code [REDACTED]}, in one pass over the bytes for all secrets
 * together ({@link SecretSet}, an Aho–Corasick automaton over their UTF-8 bytes). Where matches overlap, the
 * one starting first wins, and of those starting at the same byte the longest, so a secret that starts with
 * another secret is replaced whole. A secret split across reads is found: only a tail that could still become
 * (a longer) secret is held back until the next read or {@link #flush}, so ordinary output is never delayed.
 * Not thread-safe; one per stream.
 */
final class Redactor {
  static final byte[] MARK = "[REDACTED]".getBytes(StandardCharsets.UTF_8);

  /** Where redacted bytes go; the array is only valid during the call. */
  interface Sink {
    void write(byte[] bytes, int offset, int length);
  }

  private final SecretSet secrets;
  /** The held tail: bytes not yet written out, positions below count from its start. */
  private byte[] held = new byte[0];
  private int heldLength;
  /** The automaton's state after everything read so far. */
  private int state;
  /** The best complete match not yet replaced (leftmost, then longest), or -1. */
  private int matchStart = -1;
  private int matchEnd;

  Redactor(SecretSet secrets) {
    this.secrets = secrets;
  }

  Redactor(List<String> secretValues) {
    this(SecretSet.of(secretValues));
  }

  /** Redacts {@code length} bytes of {@code in}; writes what is safe to emit now to {@code out}. */
  void process(byte[] in, int offset, int length, Sink out) {
    if (secrets.isEmpty()) {
      out.write(in, offset, length);
      return;
    }
    scan(in, offset, length, false, out);
  }

  /** The stream ended: the held tail is resolved (a pending secret still replaced) and written out. */
  void flush(Sink out) {
    if (heldLength > 0) {
      scan(held, 0, 0, true, out);
    }
  }

  /** Drops the held tail (it may be the first part of a secret); returns how many bytes that was. */
  int discard() {
    int n = heldLength;
    heldLength = 0;
    state = 0;
    matchStart = -1;
    return n;
  }

  /** Hands over the held tail unresolved (to be read again by a redactor with more secrets) and starts afresh. */
  byte[] takeHeld() {
    byte[] tail = Arrays.copyOf(held, heldLength);
    discard();
    return tail;
  }

  /** For tests and {@link SecretRedaction}: the bytes safe to emit after this read. */
  byte[] process(byte[] in, int offset, int length) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(length);
    process(in, offset, length, out::write);
    return out.toByteArray();
  }

  /** For tests and {@link SecretRedaction}: the rest, at the end of the stream. */
  byte[] flush() {
    ByteArrayOutputStream out = new ByteArrayOutputStream(heldLength);
    flush(out::write);
    return out.toByteArray();
  }

  /**
   * Feeds the automaton the new bytes (positions {@code heldLength ..}; the held tail was fed before). A match
   * is final once no match that is still possible starts at or before it; then everything before it is
   * written, then the mark, and scanning restarts right after it (overlapping matches do not count).
   */
  private void scan(byte[] in, int offset, int length, boolean end, Sink out) {
    final SecretSet set = secrets;
    final int[] table = set.table();
    final int[] byteClass = set.byteClasses();
    final int classes = set.classes();
    final int[] matchLength = set.matchLengths();
    final int[] depth = set.depths();
    final long[] pairs = set.startPairs();
    final int held = heldLength;
    final int total = held + length;
    int emitted = 0;
    int s = state;
    int p = held;
    int start = matchStart;
    int stop = matchEnd;
    while (true) {
      while (p < total) {
        if (start < 0 && p >= held && table != null) {
          // nothing pending: one table lookup per byte until a secret ends or the input does; in state 0,
          // bytes that do not begin the first two bytes of a secret are skipped without a lookup
          int i = offset + p - held;
          final int last = offset + length;
          int found = 0;
          while (i < last) {
            if (s == 0 && pairs != null) {
              while (i + 1 < last && (pairs[((in[i] & 0xff) << 8 | (in[i + 1] & 0xff)) >>> 6]
                  & 1L << ((in[i] & 0xff) << 8 | (in[i + 1] & 0xff))) == 0) {
                i++;
              }
            }
            s = table[s * classes + byteClass[in[i++] & 0xff]];
            if ((found = matchLength[s]) != 0) {
              break;
            }
          }
          p = held + i - offset;
          if (found == 0) {
            continue;
          }
          start = p - found;
          stop = p;
        } else {
          s = set.next(s, (p < held ? this.held[p] : in[offset + p - held]) & 0xff);
          p++;
          int found = matchLength[s];
          if (found > 0 && (start < 0 || p - found < start || (p - found == start && p > stop))) {
            start = p - found;
            stop = p;
          }
        }
        if (start >= 0 && p - depth[s] > start) {
          write(in, offset, held, emitted, start, out);
          out.write(MARK, 0, MARK.length);
          emitted = stop;
          p = stop;
          s = 0;
          start = -1;
        }
      }
      if (!end || start < 0) {
        break;
      }
      // the end of the stream: no longer secret can complete, so the pending match is final
      write(in, offset, held, emitted, start, out);
      out.write(MARK, 0, MARK.length);
      emitted = stop;
      p = stop;
      s = 0;
      start = -1;
    }
    if (end) {
      write(in, offset, held, emitted, total, out);
      heldLength = 0;
      state = 0;
      matchStart = -1;
      return;
    }
    // safe: everything before the pending match and before the earliest byte where a secret may still start
    int safe = total - depth[s];
    if (start >= 0) {
      safe = Math.min(safe, start);
    }
    write(in, offset, held, emitted, safe, out);
    hold(in, offset, held, safe, total);
    matchStart = start >= 0 ? start - safe : -1;
    matchEnd = stop - safe;
    state = s;
  }

  /** Writes positions {@code [from, to)} of held tail + input. */
  private void write(byte[] in, int offset, int held, int from, int to, Sink out) {
    if (from < held && from < to) {
      int until = Math.min(to, held);
      out.write(this.held, from, until - from);
      from = until;
    }
    if (from < to) {
      out.write(in, offset + from - held, to - from);
    }
  }

  /** Keeps positions {@code [from, total)} as the new held tail. */
  private void hold(byte[] in, int offset, int held, int from, int total) {
    int n = total - from;
    if (n > this.held.length) {
      byte[] grown = new byte[Math.max(n, Math.min(2 * this.held.length + 16, secrets.maxLength()))];
      if (from < held) {
        System.arraycopy(this.held, from, grown, 0, held - from);
      }
      this.held = grown;
    } else if (from < held) {
      System.arraycopy(this.held, from, this.held, 0, held - from);
    }
    int fromHeld = Math.max(0, held - from);
    System.arraycopy(in, offset + Math.max(from, held) - held, this.held, fromHeld, n - fromHeld);
    heldLength = n;
  }
}
