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
  // the process backends (direct, command)
  WORKSPACE_SETUP("workspace_setup"),
  SETUP_COMMAND("setup_command"),
  AGENT_INVOCATION("agent_invocation"),
  TEARDOWN_COMMAND("teardown_command"),
  DISPATCH_COMMAND("dispatch_command"),
  DISPATCH_TIMEOUT("dispatch_timeout"),
  CANCEL_COMMAND("cancel_command");

  private final String wireName;

  FailureReason(String wireName) {
    this.wireName = wireName;
  }

  public String wireName() {
    return wireName;
  }
}
