package dev.oz.worker.task;

import dev.oz.worker.backend.CancelReason;

/** Lifecycle -> backend: stop a running task. */
public record CancelTask(String taskId, CancelReason reason) {
}
