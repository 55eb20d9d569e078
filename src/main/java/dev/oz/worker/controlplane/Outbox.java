package dev.oz.worker.controlplane;

import dev.oz.worker.protocol.ProtocolJson;
import dev.oz.worker.protocol.TaskLog;
import dev.oz.worker.protocol.TaskLogFrame;
import dev.oz.worker.protocol.WorkerMessage;
import io.vertx.core.Promise;
import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * Frames waiting for the socket, in order. Entries handed to the socket stay "in flight" until the write is
 * confirmed; a broken connection puts them back in front, so they go out again after reconnect.
 *
 * <p>A confirmed write only means the bytes reached the kernel: a peer that stopped reading, or a connection
 * that dies, loses what sat in the buffers without anyone noticing. So the latest terminal reports and log
 * chunks written on a connection stay in a replay window ({@code replayBytes}); when the connection breaks
 * they go out again first. The control plane may thus see a {@code (task_id, seq)} or a terminal report twice,
 * never not at all.
 *
 * <p>Reports are bounded by {@code limit}: beyond it the oldest unsent claim or rejection makes room (the
 * caller logs it); terminal reports and log chunks are never dropped here. Used on one event loop only.
 */
final class Outbox {

  static final class Entry {
    /** The report; null for a log chunk that came encoded. */
    final WorkerMessage message;
    final boolean log;
    /** The text frame's UTF-8 bytes: the first {@code length} of {@code frame}. */
    final byte[] frame;
    final int length;
    final Promise<Void> written;
    long sentAtNanos;

    Entry(WorkerMessage message, Promise<Void> written) {
      this.message = message;
      this.log = message instanceof TaskLog;
      this.frame = ProtocolJson.encodeUtf8(message);
      this.length = frame.length;
      this.written = written;
    }

    Entry(TaskLogFrame chunk, Promise<Void> written) {
      this.message = null;
      this.log = true;
      this.frame = chunk.bytes();
      this.length = chunk.length();
      this.written = written;
    }

    boolean terminal() {
      return message != null && message.terminal();
    }

    boolean droppable() {
      return !terminal() && !log;
    }

    boolean replayable() {
      return terminal() || log;
    }
  }

  private final ArrayDeque<Entry> recent = new ArrayDeque<>();
  private final ArrayDeque<Entry> inFlight = new ArrayDeque<>();
  private final ArrayDeque<Entry> pending = new ArrayDeque<>();
  private final int limit;
  private final long replayBytes;
  private long recentBytes;
  private int reports;

  Outbox(int limit, long replayBytes) {
    this.limit = limit;
    this.replayBytes = replayBytes;
  }

  /** Adds a message; returns the report dropped to make room, or null. */
  Entry add(WorkerMessage message, Promise<Void> written) {
    return add(new Entry(message, written));
  }

  /** Adds an encoded log chunk (never dropped, so nothing is returned). */
  void add(TaskLogFrame chunk, Promise<Void> written) {
    add(new Entry(chunk, written));
  }

  private Entry add(Entry e) {
    pending.addLast(e);
    if (!e.log) {
      reports++;
    }
    return reports > limit ? dropOldestDroppable() : null;
  }

  private Entry dropOldestDroppable() {
    for (Iterator<Entry> it = pending.iterator(); it.hasNext(); ) {
      Entry e = it.next();
      if (e.droppable()) {
        it.remove();
        reports--;
        return e;
      }
    }
    return null;
  }

  boolean hasUnsent() {
    return !pending.isEmpty();
  }

  /** The next entry to write; it stays in flight until {@link #confirmOldest} or {@link #requeueInFlight}. */
  Entry nextUnsent(long nowNanos) {
    Entry e = pending.pollFirst();
    e.sentAtNanos = nowNanos;
    inFlight.addLast(e);
    return e;
  }

  /** Writes complete in order on one socket, so a successful write always confirms the oldest in flight. */
  Entry confirmOldest() {
    Entry e = inFlight.pollFirst();
    if (e == null) {
      return null;
    }
    if (!e.log) {
      reports--;
    }
    if (e.replayable() && replayBytes > 0) {
      recent.addLast(e);
      recentBytes += e.length;
      while (recentBytes > replayBytes) {
        recentBytes -= recent.pollFirst().length;
      }
    }
    return e;
  }

  /**
   * The connection broke: the replay window, then whatever was not confirmed, go out again, first, on the
   * next one.
   */
  void requeueInFlight() {
    while (!inFlight.isEmpty()) {
      pending.addFirst(inFlight.pollLast());
    }
    while (!recent.isEmpty()) {
      Entry e = recent.pollLast();
      if (!e.log) {
        reports++;
      }
      pending.addFirst(e);
    }
    recentBytes = 0;
  }

  /** Send time of the oldest unconfirmed write, or -1. */
  long oldestInFlightNanos() {
    Entry e = inFlight.peekFirst();
    return e == null ? -1 : e.sentAtNanos;
  }

  int size() {
    return inFlight.size() + pending.size();
  }

  boolean isEmpty() {
    return inFlight.isEmpty() && pending.isEmpty();
  }
}
