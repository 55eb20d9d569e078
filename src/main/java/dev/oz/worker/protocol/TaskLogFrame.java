package dev.oz.worker.protocol;

/**
 * A {@code task_log} message already encoded: the UTF-8 bytes of its text frame, built straight from the chunk's
 * bytes by {@link ProtocolJson#encodeLog}. The hot path from the log stream to the socket carries this, so a chunk
 * is never turned into a string and back. The frame is the first {@code length} bytes of {@code bytes}.
 */
public record TaskLogFrame(String taskId, long seq, byte[] bytes, int length) {
  /** The frame's bytes, exactly. */
  public byte[] frame() {
    return bytes.length == length ? bytes : java.util.Arrays.copyOf(bytes, length);
  }

  @Override
  public String toString() {
    return "TaskLogFrame[task=" + taskId + ", seq=" + seq + ", bytes=" + length + "]";
  }
}
