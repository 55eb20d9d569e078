package dev.oz.worker.task;

import dev.oz.worker.backend.TaskOutcome;

/** Backend -> lifecycle: a task ended this way. */
public record TaskFinished(String taskId, TaskOutcome outcome) {
}
