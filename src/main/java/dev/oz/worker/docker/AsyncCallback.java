package dev.oz.worker.docker;

import com.github.dockerjava.api.async.ResultCallback;
import java.io.Closeable;
import java.io.IOException;

/**
 * A docker-java streaming callback that can be closed at any moment, even before the stream started (docker-java
 * ignores a close that comes before {@code onStart}); completion is reported once, on the first of
 * onComplete/onError/close.
 */
abstract class AsyncCallback<T> implements ResultCallback<T> {
  private Closeable stream;
  private boolean closed;
  private boolean finished;

  @Override
  public void onStart(Closeable closeable) {
    boolean closeNow;
    synchronized (this) {
      stream = closeable;
      closeNow = closed;
    }
    if (closeNow) {
      quietly(closeable);
    }
  }

  @Override
  public void onError(Throwable error) {
    if (finish()) {
      finished(error);
    }
    close();
  }

  @Override
  public void onComplete() {
    if (finish()) {
      finished(null);
    }
    close();
  }

  @Override
  public void close() {
    Closeable s;
    synchronized (this) {
      closed = true;
      s = stream;
    }
    if (s != null) {
      quietly(s);
    }
    if (finish()) {
      finished(null);
    }
  }

  private synchronized boolean finish() {
    if (finished) {
      return false;
    }
    finished = true;
    return true;
  }

  /** Called exactly once: {@code error} is null for a normal end or a close. */
  protected abstract void finished(Throwable error);

  private static void quietly(Closeable c) {
    try {
      c.close();
    } catch (IOException | RuntimeException ignored) {
      // closing an aborted stream
    }
  }
}
