package dev.oz.worker.backend;

import java.time.Instant;

/**
 * One setup phase of a task, as the Go worker reports it to {@code /api/v1/agent/runs/{task_id}/client-events}.
 *
 * @param name the event name, e.g. {@code setup_worker_pod_schedule}
 * @param start when the phase began
 * @param finish when it ended (the event's timestamp)
 * @param error whether the phase failed
 */
public record SetupEvent(String name, Instant start, Instant finish, boolean error) {
  public static final String IMAGE_PULL = "setup_worker_image_pull";
  public static final String SIDECAR_PREP = "setup_worker_sidecar_prep";
  public static final String CONTAINER_START = "setup_worker_container_start";
  public static final String JOB_CREATE = "setup_worker_job_create";
  public static final String POD_SCHEDULE = "setup_worker_pod_schedule";
  public static final String SETUP_COMMAND = "setup_worker_setup_command";
}
