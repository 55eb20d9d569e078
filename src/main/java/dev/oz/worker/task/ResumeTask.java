package dev.oz.worker.task;

import dev.oz.worker.backend.AdoptedTask;
import dev.oz.worker.backend.TaskOutput;

/** Lifecycle -> backend: follow this adopted task to its end, writing its output to {@code output}. */
public record ResumeTask(AdoptedTask task, TaskOutput output) {
}
