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
  UNKNOWN("unknown"),
  // the kubernetes backend's (the Go worker's metrics.TaskFailureReason values)
  JOB_CREATE("job_create"),
  JOB_WATCH("job_watch"),
  JOB_FAILED("job_failed"),
  EVICTED("evicted"),
  POD_WATCH("pod_watch"),
  UNSCHEDULABLE("unschedulable"),
  VOLUME_MOUNT("volume_mount"),
  INIT_CONTAINER("init_container"),
  INVALID_IMAGE("invalid_image"),
  ACTIVE_DEADLINE("active_deadline");

  private final String wireName;

  FailureReason(String wireName) {
    this.wireName = wireName;
  }

  public String wireName() {
    return wireName;
  }
}
