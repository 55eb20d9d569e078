package dev.oz.worker.controlplane;

import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Recognises a message from the control plane over {@code connection.max_message_bytes}, whichever layer noticed it:
 * Netty for one oversized frame, Vert.x for fragments that add up to too much.
 */
final class OversizedMessage {
  /** "Message Too Big" (RFC 6455). */
  static final short CLOSE_CODE = 1009;
  private static final Pattern FRAGMENTS = Pattern.compile(
      "frame of size (\\d+), it would cause message buffer \\(size (\\d+)\\) to overflow max message size");

  private OversizedMessage() {
  }

  /** A log line naming the size and the limit, or null when {@code err} is about something else. */
  static String describe(Throwable err, int limit) {
    String message = String.valueOf(err.getMessage());
    Matcher m = FRAGMENTS.matcher(message);
    if (err instanceof IllegalStateException && m.find()) {
      long atLeast = Long.parseLong(m.group(1)) + Long.parseLong(m.group(2));
      return "A message from the control plane of at least " + atLeast + " bytes is larger than"
          + " connection.max_message_bytes (" + limit + ")";
    }
    if (err instanceof CorruptedWebSocketFrameException && message.contains("Max frame length")) {
      return "A frame from the control plane is larger than connection.max_message_bytes (" + limit + ")";
    }
    return null;
  }
}
