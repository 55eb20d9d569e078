package dev.oz.worker.backend;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import java.util.List;

/**
 * Runs tasks somewhere (Docker containers, processes, ...). The lifecycle reaches a backend only through the
 * event bus ({@link BackendVerticle}), so a backend never sees protocol messages or the socket.
 *
 * <p>Methods are called on the hosting verticle's event loop and must not block it.
 */
public interface TaskBackend {

  /** Prepares the backend (e.g. reaches the engine); a failure stops the worker from starting. */
  default Future<Void> start() {
    return Future.succeededFuture();
  }

  /**
   * Runs the task to its end. The future never fails: every failure is a {@link TaskOutcome} with its reason.
   *
   * @param output where the task's stdout/stderr goes while it runs (a no-op sink when streaming is off)
   */
  Future<TaskOutcome> execute(TaskDescription task, TaskOutput output);

  /**
   * Tasks an earlier process of this worker left running (only backends whose tasks outlive the worker have any);
   * asked once after {@link #start()}. The lifecycle claims each again and calls {@link #resume}.
   */
  default Future<List<AdoptedTask>> adoptable() {
    return Future.succeededFuture(List.of());
  }

  /** Follows an adopted task to its end, as {@link #execute} does (its output resumes from now). */
  default Future<TaskOutcome> resume(AdoptedTask task, TaskOutput output) {
    return Future.failedFuture("this backend cannot resume tasks");
  }

  /** Stops a running task; its {@link #execute} future then completes (a cancelled or failed outcome). */
  Future<Void> cancel(String taskId, CancelReason reason);

  /**
   * The lifecycle handed the task's terminal report on (queued for the control plane: written at once when connected,
   * kept in the outbox while not), or has none to send (a dispatched task). Work a backend holds back only so it does
   * not compete with the report for the CPU (Docker: the container's removal) may start now. Comes once per task the
   * lifecycle reports, normally after the backend's outcome; it may name a task the backend has no run of (ignore it),
   * and it may never come (the lifecycle failed, or a test drives the backend alone), so a backend bounds its wait.
   */
  default void reported(String taskId) {
  }

  /** Whether the backend can run tasks right now (for readiness probes). */
  default Future<Void> checkHealth() {
    return Future.succeededFuture();
  }

  /**
   * Tells {@code listener} each time the backend stops or starts being able to run new tasks (its engine went away,
   * came back), on the backend's context; it counts as available until told otherwise. While unavailable the worker
   * rejects new assignments and reports not ready; running tasks stay the backend's to watch and report. Called once
   * after {@link #start()}; backends without such a dependency (direct, command) never call the listener.
   */
  default void availabilityChanges(Handler<Availability> listener) {
  }

  /** Releases everything; called after running tasks were cancelled and ended. */
  Future<Void> shutdown();
}
