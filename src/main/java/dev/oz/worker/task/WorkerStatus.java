package dev.oz.worker.task;

import java.time.Instant;
import java.util.List;

/** A snapshot of the lifecycle for {@code /status}: what runs now and how much room is left. */
public record WorkerStatus(List<ActiveTask> activeTasks, int maxConcurrentTasks, boolean shuttingDown) {

  /** One running task. */
  public record ActiveTask(String taskId, String executionId, String title, Instant startedAt) {
  }
}
