package dev.oz.worker.task;

/** Lifecycle -> backend: stop a running task. */
public record CancelTask(String taskId, CancelReason reason) {
}
