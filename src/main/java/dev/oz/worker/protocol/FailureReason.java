package dev.oz.worker.protocol;

/** The {@code failure_reason} values of PROTOCOL.md section 3 that this worker produces. */
public enum FailureReason {
  IMAGE_PULL("image_pull"),
  SIDECAR_PREP("sidecar_prep"),
  CONTAINER_CREATE("container_create"),
  CONTAINER_START("container_start"),
  CONTAINER_WAIT("container_wait"),
  CONTAINER_EXIT("container_exit"),
  CONTAINER_OOM("container_oom"),
  TASK_TIMEOUT("task_timeout"),
  TASK_CANCELLED("task_cancelled"),
  GRACEFUL_SHUTDOWN("graceful_shutdown"),
  UNKNOWN("unknown");

  private final String wireName;

  FailureReason(String wireName) {
    this.wireName = wireName;
  }

  public String wireName() {
    return wireName;
  }
}
