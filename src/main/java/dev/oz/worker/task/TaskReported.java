package dev.oz.worker.task;

/** Lifecycle -> backend: the task's terminal report was handed to the connection (see {@code TaskBackend.reported}). */
public record TaskReported(String taskId) {
}
