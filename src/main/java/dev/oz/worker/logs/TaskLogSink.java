package dev.oz.worker.logs;

import dev.oz.worker.backend.StdStream;
import dev.oz.worker.backend.TaskDescription;
import dev.oz.worker.backend.TaskOutput;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * One task's output between the backend's threads and the log-streaming verticle. Writes redact secrets
 * straight into a per-stream queue (one pass, one copy); the queues together never hold more than
 * {@code bufferBytes}: beyond that the oldest bytes are dropped and counted, to be announced on the next
 * chunk. The verticle cuts chunks out of the queues on its event loop. All methods synchronize on this sink.
 */
final class TaskLogSink implements TaskOutput {

  /**
   * A chunk cut from the queues, not yet numbered: the first {@code length} bytes of {@code buffer}; {@code offset} is
   * the position of its first byte in its stream (redacted bytes, dropped ones included), null when not known.
   */
  record Cut(StdStream stream, byte[] buffer, int length, long droppedBefore, Long offset) {
    /** A copy of the chunk's bytes. */
    byte[] bytes() {
      return Arrays.copyOf(buffer, length);
    }
  }

  private final long bufferBytes;
  private final long maxBytes;
  private final long signalBytes;
  private final Runnable onData;
  private final Redactor[] redactors = new Redactor[2];
  private final Set<String> secrets;
  private final ByteQueue[] queues = {new ByteQueue(), new ByteQueue()};
  /** Per stream, the position of the queue's first byte: everything cut or dropped before it. */
  private final long[] head = new long[2];
  private boolean positionsKnown = true;
  private long received;
  private long dropped;
  private long droppedTotal;
  private boolean truncated;
  private boolean ended;
  private boolean signalled;
  private int nextStream;

  /** A sink that signals on every arrival. */
  TaskLogSink(List<String> secrets, long bufferBytes, long maxBytes, Runnable onData) {
    this(secrets, bufferBytes, maxBytes, 1, onData);
  }

  /**
   * @param signalBytes how much a stream must hold before a write signals: the consumer cuts only full
   *     chunks between its flush ticks, so waking it for less would be for nothing
   * @param onData called (from the writing thread) when a stream holds {@code signalBytes}, the cap was hit or
   *     the output ended, and no earlier call is pending; the consumer re-arms it through {@link #rearm()}
   */
  TaskLogSink(List<String> secrets, long bufferBytes, long maxBytes, long signalBytes, Runnable onData) {
    this.bufferBytes = bufferBytes;
    this.maxBytes = maxBytes;
    this.signalBytes = signalBytes;
    this.onData = onData;
    this.secrets = new LinkedHashSet<>(secrets);
    useSecrets();
  }

  private void useSecrets() {
    SecretSet set = SecretSet.of(new ArrayList<>(secrets));
    for (StdStream s : StdStream.values()) {
      Redactor old = redactors[s.ordinal()];
      redactors[s.ordinal()] = new Redactor(set);
      if (old != null) {
        // what the old redactor held back (a possible secret's start) is read again against all the secrets
        byte[] tail = old.takeHeld();
        redactors[s.ordinal()].process(tail, 0, tail.length, queues[s.ordinal()]);
      }
    }
  }

  /** Redacts these values too, in output written from now on (and in what is still held back, not yet queued). */
  @Override
  public synchronized void addSecrets(Collection<String> more) {
    boolean added = false;
    for (String s : more) {
      if (s != null && s.length() >= TaskDescription.MIN_SECRET_LENGTH) {
        added |= secrets.add(s);
      }
    }
    if (added && !ended && !truncated) {
      useSecrets();
    }
  }

  /** The output starts mid-stream at an unknown position (a resumed follow): chunks carry no offset. */
  synchronized TaskLogSink withoutPositions() {
    positionsKnown = false;
    return this;
  }

  @Override
  public boolean wantsOutput() {
    return true;
  }

  @Override
  public boolean write(StdStream stream, byte[] bytes, int offset, int length) {
    boolean signal;
    boolean more;
    synchronized (this) {
      if (ended || truncated) {
        return false;
      }
      long room = maxBytes - received;
      int take = (int) Math.min(length, room);
      received += take;
      redactors[stream.ordinal()].process(bytes, offset, take, queues[stream.ordinal()]);
      enforceBound();
      if (take < length || received >= maxBytes) {
        truncated = true;
        discardRedactorTails(); // a held tail may be the first half of a secret cut by the cap
      }
      more = !truncated;
      signal = !signalled && (truncated || queues[stream.ordinal()].size() >= signalBytes);
      signalled |= signal;
    }
    if (signal) {
      onData.run();
    }
    return more;
  }

  @Override
  public void end() {
    finish(true);
  }

  private void flushRedactors() {
    for (StdStream s : StdStream.values()) {
      redactors[s.ordinal()].flush(queues[s.ordinal()]);
    }
    enforceBound();
  }

  private void enforceBound() {
    long over = queues[0].size() + queues[1].size() - bufferBytes;
    while (over > 0) {
      int v = queues[0].size() >= queues[1].size() ? 0 : 1;
      ByteQueue victim = queues[v];
      long n = Math.min(over, victim.size());
      victim.skip(n);
      // never leave half a UTF-8 character at the head
      while (victim.size() > 0 && (victim.first() & 0xC0) == 0x80) {
        victim.skip(1);
        n++;
      }
      head[v] += n;
      dropped += n;
      droppedTotal += n;
      over -= n;
    }
  }

  /** Allows the next write to signal again; call before draining so no arrival is missed. */
  synchronized void rearm() {
    signalled = false;
  }

  /**
   * Cuts the next chunk of at most {@code maxChunk} bytes. A chunk shorter than {@code maxChunk} is only cut
   * when {@code partial} is true or the output ended; a chunk followed by more data ends at a line break
   * where there is one; an incomplete UTF-8 character at the end stays queued until it completes.
   */
  Cut next(int maxChunk, boolean partial) {
    return next(new byte[maxChunk], partial);
  }

  /** As {@link #next(int, boolean)}, cutting into {@code buffer} (its length is the largest chunk). */
  synchronized Cut next(byte[] buffer, boolean partial) {
    for (int attempt = 0; attempt < 2; attempt++) {
      StdStream stream = StdStream.values()[nextStream];
      nextStream ^= 1;
      Cut cut = cut(stream, buffer, partial);
      if (cut != null) {
        return cut;
      }
    }
    return null;
  }

  private Cut cut(StdStream stream, byte[] buf, boolean partial) {
    ByteQueue q = queues[stream.ordinal()];
    int maxChunk = buf.length;
    if (q.size() == 0 || (q.size() < maxChunk && !partial && !ended)) {
      return null;
    }
    int n = (int) Math.min(q.size(), maxChunk);
    q.peek(buf, n);
    int end = n;
    if (q.size() > n) {
      int nl = lastNewline(buf, n);
      end = nl >= 0 ? nl + 1 : utf8Boundary(buf, n);
    } else if (!ended) {
      end = utf8Boundary(buf, n);
    }
    if (end == 0) {
      return null;
    }
    q.skip(end);
    long d = dropped;
    dropped = 0;
    Long offset = positionsKnown ? head[stream.ordinal()] : null;
    head[stream.ordinal()] += end;
    return new Cut(stream, buf, end, d, offset);
  }

  /** Bytes dropped since the last chunk, when no chunk is left to carry them (announced by the caller). */
  synchronized long takeDropped() {
    long d = dropped;
    dropped = 0;
    return d;
  }

  synchronized boolean isEmpty() {
    return queues[0].size() == 0 && queues[1].size() == 0;
  }

  synchronized boolean isTruncated() {
    return truncated;
  }

  synchronized long droppedTotal() {
    return droppedTotal;
  }

  /**
   * Stops accepting output because the task's log is being closed, whether or not the backend saw the
   * output end: a held tail could then be the first half of a secret, so it is dropped, not sent.
   */
  void close() {
    finish(false);
  }

  /** No more output: a normal end releases the redactors' held tails, a forced one drops them. */
  private void finish(boolean releaseHeldTails) {
    boolean signal;
    synchronized (this) {
      if (ended) {
        return;
      }
      ended = true;
      if (releaseHeldTails) {
        flushRedactors();
      } else {
        discardRedactorTails();
      }
      signal = !signalled;
      signalled = true;
    }
    if (signal) {
      onData.run();
    }
  }

  private void discardRedactorTails() {
    for (Redactor r : redactors) {
      long n = r.discard();
      dropped += n;
      droppedTotal += n;
    }
  }

  private static int lastNewline(byte[] buf, int n) {
    for (int i = n - 1; i >= 0; i--) {
      if (buf[i] == '\n') {
        return i;
      }
    }
    return -1;
  }

  /** The largest length {@code <= n} that does not end inside a multi-byte UTF-8 character. */
  static int utf8Boundary(byte[] buf, int n) {
    int i = n - 1;
    int continuation = 0;
    while (i >= 0 && continuation < 3 && (buf[i] & 0xC0) == 0x80) {
      i--;
      continuation++;
    }
    if (i < 0) {
      return n;
    }
    int lead = buf[i] & 0xff;
    int needed = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return (n - i) < needed ? i : n;
  }
}
