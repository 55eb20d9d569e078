package dev.oz.worker.docker;

import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.StreamType;
import dev.oz.worker.backend.StdStream;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.io.ByteArrayOutputStream;

/**
 * The catch-up read for large logs: reads the last {@value #TAIL_ENTRIES} log entries and delivers, per
 * stream, only what follows the longest overlap with the bytes the follow stream last delivered. The
 * engine's known loss is a final partial line, which such an overlap always locates.
 */
final class TailCatchUp extends AsyncCallback<Frame> {
  static final int TAIL_ENTRIES = 200;
  private static final int MAX_TAIL_BYTES = 4 * 1024 * 1024;

  private final LogFollower follower;
  private final Blocking blocking;
  private final ByteArrayOutputStream[] tail = {new ByteArrayOutputStream(), new ByteArrayOutputStream()};
  private final Promise<Void> done = Promise.promise();

  TailCatchUp(LogFollower follower, Blocking blocking) {
    this.follower = follower;
    this.blocking = blocking;
  }

  @Override
  public void onNext(Frame frame) {
    byte[] payload = frame.getPayload();
    ByteArrayOutputStream out = tail[frame.getStreamType() == StreamType.STDERR ? 1 : 0];
    if (payload != null && out.size() + payload.length <= MAX_TAIL_BYTES) {
      out.write(payload, 0, payload.length);
    }
  }

  @Override
  protected void finished(Throwable error) {
    if (error == null) {
      for (StdStream s : StdStream.values()) {
        byte[] t = tail[s.ordinal()].toByteArray();
        int overlap = longestPrefixThatIsSuffix(t, follower.recent(s));
        if (overlap < t.length) {
          follower.output().write(s, t, overlap, t.length - overlap);
        }
      }
    }
    blocking.onContext(() -> done.tryComplete());
  }

  Future<Void> done() {
    return done.future();
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
