package dev.oz.worker.protocol;

/**
 * {@code task_log} (extension): a chunk of a running task's output. {@code seq} counts from 0 per task with
 * no gaps; {@code droppedBytes} announces output lost before this chunk; {@code truncated} marks the last
 * chunk after the per-task cap.
 */
public record TaskLog(String taskId, String executionId, long seq, String stream, String data, long droppedBytes,
    boolean truncated) implements WorkerMessage {

  public static final String STDOUT = "stdout";
  public static final String STDERR = "stderr";

  @Override
  public String type() {
    return "task_log";
  }

  @Override
  public String toString() {
    return "TaskLog[task=" + taskId + ", seq=" + seq + ", stream=" + stream + ", bytes=" + data.length()
        + (droppedBytes > 0 ? ", dropped=" + droppedBytes : "") + (truncated ? ", truncated" : "") + "]";
  }
}
