package dev.oz.worker.logs;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Replaces secrets in a byte stream with {@code [REDACTED]}, including a secret split across two reads:
 * a tail that could be the start of a secret is held back until the next read (or {@link #flush()}). Only
 * such a tail is held, so ordinary output is never delayed. Not thread-safe; one per stream.
 */
final class Redactor {
  static final byte[] MARK = "[REDACTED]".getBytes(StandardCharsets.UTF_8);
  private static final byte[] EMPTY = new byte[0];

  private final byte[][] secrets;
  private final boolean[] firstBytes = new boolean[256];
  private final int maxLength;
  private byte[] held = EMPTY;

  Redactor(List<String> secretValues) {
    this.secrets = secretValues.stream()
        .filter(s -> s != null && !s.isEmpty())
        .distinct()
        .map(s -> s.getBytes(StandardCharsets.UTF_8))
        .sorted(Comparator.comparingInt((byte[] b) -> b.length).reversed())
        .toArray(byte[][]::new);
    int max = 0;
    for (byte[] s : secrets) {
      firstBytes[s[0] & 0xff] = true;
      max = Math.max(max, s.length);
    }
    this.maxLength = max;
  }

  /** Returns the bytes that are safe to emit now. */
  byte[] process(byte[] in, int offset, int length) {
    byte[] data;
    if (held.length == 0) {
      data = Arrays.copyOfRange(in, offset, offset + length);
    } else {
      data = Arrays.copyOf(held, held.length + length);
      System.arraycopy(in, offset, data, held.length, length);
    }
    if (secrets.length == 0) {
      held = EMPTY;
      return data;
    }
    ByteArrayOutputStream out = null;
    int emitted = 0;
    int i = 0;
    while (i < data.length) {
      if (!firstBytes[data[i] & 0xff]) {
        i++;
        continue;
      }
      if (data.length - i < maxLength && prefixOfLongerSecretAt(data, i)) {
        break; // a longer secret may be starting here: wait for the rest before replacing a shorter one
      }
      byte[] match = fullMatchAt(data, i);
      if (match != null) {
        if (out == null) {
          out = new ByteArrayOutputStream(data.length);
        }
        out.write(data, emitted, i - emitted);
        out.write(MARK, 0, MARK.length);
        i += match.length;
        emitted = i;
        continue;
      }
      if (data.length - i < maxLength && prefixOfSecretAt(data, i)) {
        break;
      }
      i++;
    }
    held = i < data.length ? Arrays.copyOfRange(data, i, data.length) : EMPTY;
    if (out == null) {
      return emitted == 0 && i == data.length ? data : Arrays.copyOfRange(data, emitted, i);
    }
    out.write(data, emitted, i - emitted);
    return out.toByteArray();
  }

  /** The held tail: the stream ended, so it cannot become a secret any more. */
  byte[] flush() {
    byte[] h = held;
    held = EMPTY;
    return h;
  }

  private byte[] fullMatchAt(byte[] data, int i) {
    for (byte[] s : secrets) {
      if (i + s.length <= data.length && Arrays.equals(data, i, i + s.length, s, 0, s.length)) {
        return s;
      }
    }
    return null;
  }

  /**
   * Whether the data from {@code i} is a proper prefix of a secret longer than every secret that fully
   * matches at {@code i} (so replacing the short match now would leak the rest of the long one).
   */
  private boolean prefixOfLongerSecretAt(byte[] data, int i) {
    byte[] full = fullMatchAt(data, i);
    if (full == null) {
      return false;
    }
    int n = data.length - i;
    for (byte[] s : secrets) {
      if (s.length > full.length && s.length > n && Arrays.equals(data, i, data.length, s, 0, n)) {
        return true;
      }
    }
    return false;
  }

  /** Whether everything from {@code i} to the end is a proper prefix of some secret. */
  private boolean prefixOfSecretAt(byte[] data, int i) {
    int n = data.length - i;
    for (byte[] s : secrets) {
      if (s.length > n && Arrays.equals(data, i, data.length, s, 0, n)) {
        return true;
      }
    }
    return false;
  }
}
