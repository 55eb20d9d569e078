package dev.oz.worker.metrics;

/**
 * One trace span per task, with the Go worker's lifecycle events ({@code task.assigned}, {@code task.claimed},
 * {@code task.started}, {@code backend.started}, then {@code task.completed}, {@code task.cancelled} or
 * {@code task.failed}); {@link OtelTaskTracer} records them, {@link #NOOP} when traces are off.
 */
public interface TaskTracer {

  TaskTracer NOOP = (taskId, title) -> TaskSpan.NOOP;

  /** Starts the task's span when its assignment arrives. */
  TaskSpan assigned(String taskId, String title);

  /** The span of one task. Call on the task lifecycle's event loop; nothing here blocks. */
  interface TaskSpan {
    TaskSpan NOOP = new TaskSpan() {
    };

    /** Turned away (at capacity, shutting down); ends the span. */
    default void rejected(String reason) {
    }

    default void claimed() {
    }

    /** Handed to the backend, which runs {@code image}. */
    default void started(String backend, String image) {
    }

    /** {@code source}: {@code server} for a user's cancellation, {@code signal} for the worker's shutdown. */
    default void cancellationRequested(String source) {
    }

    default void completed() {
    }

    default void cancelled() {
    }

    default void failed(String phase, String reason, String message) {
    }

    /** After the terminal report went out. */
    default void end() {
    }
  }
}
