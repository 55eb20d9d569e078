package dev.oz.worker.docker;

import dev.oz.worker.backend.StdStream;
import io.vertx.core.Future;
import java.io.ByteArrayOutputStream;

/**
 * The catch-up read for large logs: reads the last {@value #TAIL_ENTRIES} log entries and delivers, per
 * stream, only what follows the longest overlap with the bytes the follow stream last delivered. The
 * engine's known loss is a final partial line, which such an overlap always locates.
 */
final class TailCatchUp implements EngineStreams.FrameSink {
  static final int TAIL_ENTRIES = 200;
  private static final int MAX_TAIL_BYTES = 4 * 1024 * 1024;

  private final LogFollower follower;
  private final ByteArrayOutputStream[] tail = {new ByteArrayOutputStream(), new ByteArrayOutputStream()};
  private EngineStreams.LogStream stream;
  private Future<Void> delivered;
  private Throwable failure;

  TailCatchUp(LogFollower follower) {
    this.follower = follower;
  }

  /** Reads the tail of {@code containerId}'s log and delivers what the follower missed. */
  TailCatchUp start(EngineStreams engine, String containerId) {
    stream = engine.logs(containerId, false, TAIL_ENTRIES, this);
    // a read that failed delivers nothing; one closed early delivers what it has, like one that ended
    delivered = stream.done().onSuccess(v -> deliver()).recover(err -> {
      failure = err;
      return Future.succeededFuture();
    });
    return this;
  }

  @Override
  public void frame(StdStream stream, byte[] payload, int offset, int length) {
    ByteArrayOutputStream out = tail[stream.ordinal()];
    if (out.size() + length <= MAX_TAIL_BYTES) {
      out.write(payload, offset, length);
    }
  }

  /** Completes once the tail was read and what it adds delivered. */
  Future<Void> done() {
    return delivered;
  }

  /** Why the read failed, once it did. */
  Throwable failure() {
    return failure;
  }

  void close() {
    stream.close();
  }

  private void deliver() {
    for (StdStream s : StdStream.values()) {
      byte[] t = tail[s.ordinal()].toByteArray();
      int overlap = longestPrefixThatIsSuffix(t, follower.recent(s));
      if (overlap < t.length) {
        follower.output().write(s, t, overlap, t.length - overlap);
      }
    }
  }

  /** Length of the longest prefix of {@code pattern} that is a suffix of {@code text} (KMP). */
  static int longestPrefixThatIsSuffix(byte[] pattern, byte[] text) {
    if (pattern.length == 0) {
      return 0;
    }
    int[] fail = new int[pattern.length];
    for (int i = 1, k = 0; i < pattern.length; i++) {
      while (k > 0 && pattern[i] != pattern[k]) {
        k = fail[k - 1];
      }
      if (pattern[i] == pattern[k]) {
        k++;
      }
      fail[i] = k;
    }
    int j = 0;
    for (byte c : text) {
      if (j == pattern.length) {
        j = fail[j - 1];
      }
      while (j > 0 && c != pattern[j]) {
        j = fail[j - 1];
      }
      if (c == pattern[j]) {
        j++;
      }
    }
    return j;
  }
}
