package dev.oz.worker.protocol;

import com.fasterxml.jackson.annotation.JsonTypeName;

/** {@code task_claimed}: sent before a task starts executing. */
@JsonTypeName("task_claimed")
public record TaskClaimed(String taskId, @OmitEmpty String executionId, String workerId) implements WorkerMessage {
}
