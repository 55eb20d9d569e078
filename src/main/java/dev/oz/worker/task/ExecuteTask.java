package dev.oz.worker.task;

import dev.oz.worker.logs.TaskOutput;

/** Lifecycle -> backend: run this task, writing its output to {@code output}. */
public record ExecuteTask(TaskSpec spec, TaskOutput output) {
}
