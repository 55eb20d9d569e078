package dev.oz.worker.bus;

/** Event-bus address names inside one worker instance (prefixed by {@link WorkerBus}). */
public final class Addresses {
  /** Server messages, connection -> lifecycle. */
  public static final String INBOUND = "inbound";
  /** Reports, lifecycle -> connection; the reply (when asked for) means "in the outbox" (written, if connected). */
  public static final String OUTBOUND = "outbound";
  /** Log chunks, log streaming -> connection; the reply means "written to the socket". */
  public static final String OUTBOUND_LOG = "outbound.log";
  /** Connection state changes, published by the connection. */
  public static final String CONNECTION = "connection";
  /** Lifecycle -> backend. */
  public static final String EXECUTE = "backend.execute";
  public static final String CANCEL = "backend.cancel";
  public static final String BACKEND_HEALTH = "backend.health";
  /** Backend -> lifecycle: an {@code Availability} change (published); a request on it answers the current one. */
  public static final String BACKEND_AVAILABILITY = "backend.availability";
  public static final String BACKEND_AVAILABILITY_NOW = "backend.availability.now";
  /** Lifecycle -> backend at start: tasks left running by an earlier process, then follow one of them. */
  public static final String ADOPTABLE = "backend.adoptable";
  public static final String RESUME = "backend.resume";
  /** Lifecycle -> backend: a task's terminal report was handed to the connection ({@code TaskBackend.reported}). */
  public static final String REPORTED = "backend.reported";
  /** Backend -> lifecycle: a task ended. */
  public static final String FINISHED = "task.finished";
  /** Lifecycle -> log streaming: open a task's output sink; close flushes it. */
  public static final String LOG_OPEN = "logs.open";
  public static final String LOG_CLOSE = "logs.close";
  /** Anyone -> lifecycle: a {@code WorkerStatus} snapshot. */
  public static final String STATUS = "lifecycle.status";

  private Addresses() {
  }
}
