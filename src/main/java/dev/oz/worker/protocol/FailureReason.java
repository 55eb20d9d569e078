package dev.oz.worker.protocol;

/**
 * The {@code failure_reason} values of PROTOCOL.md section 3: the Go worker's whole catalog (the control plane
 * knows each one), so every one is a metric label from start-up. The Docker backend produces the container
 * and image ones, the lifecycle the task and shutdown ones; the others belong to the Go worker's direct,
 * command and Kubernetes backends.
 */
public enum FailureReason {
  UNKNOWN("unknown"),
  TASK_TIMEOUT("task_timeout"),
  TASK_CANCELLED("task_cancelled"),
  GRACEFUL_SHUTDOWN("graceful_shutdown"),
  IMAGE_PULL("image_pull"),
  SIDECAR_PREP("sidecar_prep"),
  CONTAINER_CREATE("container_create"),
  CONTAINER_START("container_start"),
  CONTAINER_WAIT("container_wait"),
  CONTAINER_EXIT("container_exit"),
  CONTAINER_OOM("container_oom"),
  /** Ours, not the Go worker's: the Docker engine stopped (or stayed away) while the task's container ran. */
  ENGINE_UNAVAILABLE("engine_unavailable"),
  WORKSPACE_SETUP("workspace_setup"),
  SETUP_COMMAND("setup_command"),
  AGENT_INVOCATION("agent_invocation"),
  TEARDOWN_COMMAND("teardown_command"),
  DISPATCH_COMMAND("dispatch_command"),
  DISPATCH_TIMEOUT("dispatch_timeout"),
  CANCEL_COMMAND("cancel_command"),
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
  ACTIVE_DEADLINE("active_deadline"),
  CLEANUP("cleanup");

  private final String wireName;

  FailureReason(String wireName) {
    this.wireName = wireName;
  }

  public String wireName() {
    return wireName;
  }
}
