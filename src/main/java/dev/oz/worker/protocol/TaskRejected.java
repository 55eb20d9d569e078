package dev.oz.worker.protocol;

import com.fasterxml.jackson.annotation.JsonTypeName;

/** {@code task_rejected}: the worker will not run this task; no claim was sent. */
@JsonTypeName("task_rejected")
public record TaskRejected(String taskId, String reason) implements WorkerMessage {
  public static final String AT_CAPACITY = "worker at maximum concurrency";
  public static final String SHUTTING_DOWN = "worker is shutting down";
  public static final String ONE_SHOT_USED = "one-shot worker has already accepted a task";
}
