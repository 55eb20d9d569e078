package dev.oz.worker.protocol;

/**
 * A {@code task_log} message already encoded: the UTF-8 bytes of its text frame, built straight from the chunk's
 * bytes by {@link ProtocolJson#encodeLog}. The hot path from the log stream to the socket carries this, so a chunk
 * is never turned into a string and back.
 */
public record TaskLogFrame(String taskId, long seq, byte[] frame) {
  @Override
  public String toString() {
    return "TaskLogFrame[task=" + taskId + ", seq=" + seq + ", bytes=" + frame.length + "]";
  }
}
