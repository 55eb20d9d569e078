package dev.oz.worker.task;

import dev.oz.worker.backend.TaskDescription;
import dev.oz.worker.backend.TaskOutput;

/** Lifecycle -> backend: run this task, writing its output to {@code output}. */
public record ExecuteTask(TaskDescription task, TaskOutput output) {
}
