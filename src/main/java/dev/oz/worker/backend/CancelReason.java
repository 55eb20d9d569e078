package dev.oz.worker.backend;

/** Why a running task is being stopped; decides how its end is reported. */
public enum CancelReason {
  /** The control plane sent {@code task_cancellation}: reported as CANCELLED. */
  USER,
  /** The worker is shutting down: reported as {@code task_failed} with {@code graceful_shutdown}. */
  SHUTDOWN,
  /** The task ran longer than {@code task_timeout}: reported as {@code task_failed} with {@code task_timeout}. */
  TIMEOUT
}
