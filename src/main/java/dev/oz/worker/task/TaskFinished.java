package dev.oz.worker.task;

/** Backend -> lifecycle: a task ended this way. */
public record TaskFinished(String taskId, TaskOutcome outcome) {
}
