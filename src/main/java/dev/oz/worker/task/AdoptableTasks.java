package dev.oz.worker.task;

import dev.oz.worker.backend.AdoptedTask;
import java.util.List;

/** Backend -> lifecycle: the tasks an earlier process of this worker left running. */
public record AdoptableTasks(List<AdoptedTask> tasks) {
}
