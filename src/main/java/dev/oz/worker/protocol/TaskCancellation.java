package dev.oz.worker.protocol;

import com.fasterxml.jackson.annotation.JsonTypeName;

/** {@code task_cancellation}: the control plane asks the worker to stop a task (newer Go: one execution of it). */
@JsonTypeName("task_cancellation")
public record TaskCancellation(String taskId, @OmitEmpty String executionId) implements ServerMessage {
}
