package dev.oz.worker.backend;

import java.time.Duration;

/**
 * What the task lifecycle asks of a backend instead of assuming it.
 *
 * @param preservesTasksOnShutdown running tasks outlive the worker (Kubernetes Jobs): a worker shutdown leaves them
 *     running instead of cancelling them
 * @param cancelTimeout how long a cancel may take before the task counts as stopped (e.g. SIGTERM, then SIGKILL
 *     after a grace period)
 * @param oneShot whether {@code --one-shot} (run one task, then exit) makes sense for this backend
 */
public record BackendCapabilities(boolean preservesTasksOnShutdown, Duration cancelTimeout, boolean oneShot) {

  /** Tasks end with the worker, and a cancel takes at most {@code cancelTimeout}. */
  public static BackendCapabilities local(Duration cancelTimeout) {
    return new BackendCapabilities(false, cancelTimeout, false);
  }

  public BackendCapabilities withOneShot() {
    return new BackendCapabilities(preservesTasksOnShutdown, cancelTimeout, true);
  }
}
