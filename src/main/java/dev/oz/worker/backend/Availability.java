package dev.oz.worker.backend;

/**
 * Whether a backend can start new tasks now (see {@link TaskBackend#availabilityChanges}). Tasks already running are
 * not ended by an outage: the backend watches them and reports each one once.
 *
 * @param rejectReason while unavailable, the {@code task_rejected} reason a new assignment gets (e.g. {@code docker
 *     engine unavailable})
 * @param detail while unavailable, what went wrong, for readiness probes and logs (e.g. the engine's address and the
 *     error)
 */
public record Availability(boolean available, String rejectReason, String detail) {
  public static final Availability AVAILABLE = new Availability(true, null, null);

  public static Availability unavailable(String rejectReason, String detail) {
    return new Availability(false, rejectReason, detail);
  }
}
