package dev.oz.worker.docker;

import java.io.Closeable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** The streams a task has open (pulls); cancelling the task closes them so it stops at once. Event loop only. */
final class CancelScope {
  private final List<Closeable> open = new ArrayList<>();
  private boolean cancelled;

  void add(Closeable c) {
    if (cancelled) {
      quietly(c);
    } else {
      open.add(c);
    }
  }

  void cancel() {
    cancelled = true;
    open.forEach(CancelScope::quietly);
    open.clear();
  }

  boolean cancelled() {
    return cancelled;
  }

  private static void quietly(Closeable c) {
    try {
      c.close();
    } catch (IOException | RuntimeException ignored) {
      // already closed
    }
  }
}
