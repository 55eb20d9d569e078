package dev.oz.worker.protocol;

import com.fasterxml.jackson.annotation.JsonTypeName;

/**
 * {@code task_log} (extension): a chunk of a running task's output. {@code seq} counts from 0 per task with
 * no gaps; {@code droppedBytes} announces output lost before this chunk; {@code truncated} marks the last
 * chunk after the per-task cap; {@code offset}, when known, is the position of the chunk's first byte in its
 * stream.
 */
@JsonTypeName("task_log")
public record TaskLog(String taskId, @OmitEmpty String executionId, long seq, String stream, String data,
    @OmitEmpty long droppedBytes, @OmitEmpty boolean truncated, @OmitNull Long offset) implements WorkerMessage {

  public static final String STDOUT = "stdout";
  public static final String STDERR = "stderr";

  @Override
  public String toString() {
    return "TaskLog[task=" + taskId + ", seq=" + seq + ", stream=" + stream + ", bytes=" + data.length()
        + (droppedBytes > 0 ? ", dropped=" + droppedBytes : "") + (truncated ? ", truncated" : "") + "]";
  }
}
