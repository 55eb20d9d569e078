package dev.oz.worker.protocol;

import com.fasterxml.jackson.annotation.JsonTypeName;

/** {@code execution_closed} (newer Go, execution-scoped cancellation): an execution's resources are gone. */
@JsonTypeName("execution_closed")
public record ExecutionClosed(String taskId, String executionId) implements WorkerMessage {
}
