package dev.oz.worker.controlplane;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.StandardCharsets;

/** What the worker tells the control plane about itself when it dials (the newer Go worker's headers). */
final class DialHeaders {
  static final String VERSION = "X-Warp-Worker-Version";
  static final String CAPABILITIES = "X-Warp-Worker-Capabilities";
  /** Cancellations may name one execution, answered with {@code execution_closed}. */
  static final String CAPABILITY_LIST = "execution-scoped-cancellation-v1";
  private static final int MAX_VERSION_BYTES = 128;

  private DialHeaders() {
  }

  /** The version, cut to 128 UTF-8 bytes on a character boundary; "dev" when blank. */
  static String version(String version) {
    if (version == null || version.isBlank()) {
      return "dev";
    }
    CharsetEncoder utf8 = StandardCharsets.UTF_8.newEncoder();
    ByteBuffer out = ByteBuffer.allocate(MAX_VERSION_BYTES);
    CharBuffer in = CharBuffer.wrap(version.strip());
    utf8.encode(in, out, true); // stops before a character that no longer fits
    return version.strip().substring(0, in.position());
  }
}
