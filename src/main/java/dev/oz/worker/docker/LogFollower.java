package dev.oz.worker.docker;

import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.StreamType;
import dev.oz.worker.backend.StdStream;
import dev.oz.worker.backend.TaskOutput;
import io.vertx.core.Future;
import io.vertx.core.Promise;

/**
 * Reads a container's stdout/stderr on docker-java's stream thread and writes it to the task's output, after
 * skipping the first {@code skip} bytes of each stream; stops reading when the output wants no more
 * (per-task cap). {@link #done()} completes on the backend's context when the stream ends.
 *
 * <p>Used twice per task: following the logs while the container runs, then, once it exited, reading them
 * again without follow from where the first read stopped. The engine's follow stream can end before the
 * last partial line (output without a final newline, flushed at exit) is delivered; the second read
 * catches it. For large logs re-reading everything costs too much, so the follower remembers the last bytes
 * of each stream and the catch-up reads only the log's tail ({@link TailCatchUp}).
 */
final class LogFollower extends AsyncCallback<Frame> {
  private final TaskOutput output;
  private final Blocking blocking;
  private final Promise<Void> done = Promise.promise();
  private final long[] skip;
  private final long[] read = new long[2];
  private final RecentBytes[] recent = {new RecentBytes(RECENT_BYTES), new RecentBytes(RECENT_BYTES)};
  static final int RECENT_BYTES = 256 * 1024;
  private volatile boolean outputFull;
  private volatile boolean failed;
  private volatile boolean abandoned;

  LogFollower(TaskOutput output, Blocking blocking) {
    this(output, blocking, new long[2]);
  }

  private LogFollower(TaskOutput output, Blocking blocking, long[] skip) {
    this.output = output;
    this.blocking = blocking;
    this.skip = skip;
  }

  /** A reader that delivers only what this one has not: for the catch-up read after exit. */
  LogFollower continuation() {
    return new LogFollower(output, blocking, read.clone());
  }

  @Override
  public void onNext(Frame frame) {
    byte[] payload = frame.getPayload();
    if (payload == null || payload.length == 0) {
      return;
    }
    StdStream stream = frame.getStreamType() == StreamType.STDERR ? StdStream.STDERR : StdStream.STDOUT;
    int s = stream.ordinal();
    int offset = (int) Math.min(payload.length, Math.max(0, skip[s] - read[s]));
    read[s] += payload.length;
    recent[s].add(payload, 0, payload.length);
    if (offset == payload.length) {
      return;
    }
    // docker-java reuses the payload buffer: the output copies what it keeps
    if (!output.write(stream, payload, offset, payload.length - offset)) {
      outputFull = true;
      close();
    }
  }

  @Override
  public void onError(Throwable error) {
    failed = true;
    super.onError(error);
  }

  /** The last bytes read from {@code stream} (up to {@value #RECENT_BYTES}). */
  byte[] recent(StdStream stream) {
    return recent[stream.ordinal()].toArray();
  }

  TaskOutput output() {
    return output;
  }

  /** Bytes read so far, both streams. */
  long bytesRead() {
    return read[0] + read[1];
  }

  /** The stream ended on its own (not cut by the per-task cap, not failed, not abandoned): catch-up makes sense. */
  boolean endedNormally() {
    return !outputFull && !failed && !abandoned;
  }

  /** Gives up on a stream that does not end (its thread may still deliver a frame; no catch-up follows). */
  void abandon() {
    abandoned = true;
    close();
  }

  @Override
  protected void finished(Throwable error) {
    if (error != null) {
      failed = true;
    }
    blocking.onContext(() -> done.tryComplete());
  }

  Future<Void> done() {
    return done.future();
  }
}
