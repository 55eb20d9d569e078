package dev.oz.worker.docker;

import dev.oz.worker.backend.StdStream;
import dev.oz.worker.backend.TaskOutput;
import io.vertx.core.Future;

/**
 * Reads a container's stdout/stderr (on the event loop, see {@link EngineStreams}) and writes it to the task's output, after
 * skipping the first {@code skip} bytes of each stream; stops reading when the output wants no more
 * (per-task cap). {@link #done()} completes on the backend's context when the stream ends.
 *
 * <p>Used twice per task: following the logs while the container runs, then, once it exited, reading them
 * again without follow from where the first read stopped. Docker 20.10's follow stream ends as soon as the
 * container's log is closed, without reading what it was not yet told about: often the last partial line
 * (output without a final newline, flushed at exit), sometimes kilobytes more; the second read, started as
 * soon as the exit is known, delivers the rest. For large logs re-reading everything costs too much, so the
 * follow is read to its end, the follower remembers the last bytes of each stream and the catch-up reads
 * only the log's tail ({@link TailCatchUp}).
 */
final class LogFollower implements EngineStreams.FrameSink {
  private final TaskOutput output;
  private EngineStreams.LogStream stream;
  private final long[] skip;
  private final long[] read = new long[2];
  private final RecentBytes[] recent = {new RecentBytes(RECENT_BYTES), new RecentBytes(RECENT_BYTES)};
  static final int RECENT_BYTES = 256 * 1024;
  private boolean outputFull;
  /** Given up: bytes still in flight are the catch-up's to deliver, not this read's. */
  private boolean abandoned;
  /** Why the read failed; with {@link #abandoned}, whether it ended short of what the engine had. */
  private Throwable failure;

  LogFollower(TaskOutput output) {
    this(output, new long[2]);
  }

  private LogFollower(TaskOutput output, long[] skip) {
    this.output = output;
    this.skip = skip;
  }

  /** A reader that delivers only what this one has not: for the catch-up read after exit. */
  LogFollower continuation() {
    // a read that failed before it got past what an earlier one delivered has delivered nothing new
    return new LogFollower(output, new long[] {Math.max(skip[0], read[0]), Math.max(skip[1], read[1])});
  }

  /** Starts reading {@code containerId}'s log (following it while it runs when {@code follow}). */
  LogFollower start(EngineStreams engine, String containerId, boolean follow) {
    stream = engine.logs(containerId, follow, 0, this);
    stream.done().onFailure(err -> failure = err);
    return this;
  }

  @Override
  public void frame(StdStream stream, byte[] payload, int from, int length) {
    if (abandoned) {
      return;
    }
    int s = stream.ordinal();
    int offset = (int) Math.min(length, Math.max(0, skip[s] - read[s]));
    read[s] += length;
    recent[s].add(payload, from, length);
    if (offset == length) {
      return;
    }
    // the decoder reuses the payload buffer: the output copies what it keeps
    if (!output.write(stream, payload, from + offset, length - offset)) {
      outputFull = true;
      this.stream.close();
    }
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

  /**
   * A catch-up read can add something: the per-task cap did not stop the output. A follow that failed or had to be
   * given up still gets one; the non-follow read always ends, and what it adds beyond this one is exact.
   */
  boolean catchUpUseful() {
    return !outputFull;
  }

  /** The read did not reach the end of what the engine had: a catch-up must re-read exactly, not just the tail. */
  boolean cutShort() {
    return abandoned || failure != null;
  }

  /** Why the read failed; null while it reads, and when it ended or was closed. */
  Throwable failure() {
    return failure;
  }

  /** Gives up on a stream that does not end. */
  void abandon() {
    abandoned = true;
    stream.close();
  }

  /** Completes when the read ends, however it ends. */
  Future<Void> done() {
    return stream.done().recover(err -> Future.succeededFuture());
  }
}
