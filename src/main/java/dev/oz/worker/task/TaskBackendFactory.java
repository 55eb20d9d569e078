package dev.oz.worker.task;

import dev.oz.worker.config.WorkerOptions;
import io.vertx.core.Vertx;

/** Creates the backend inside its hosting verticle, so it can use that verticle's context. */
@FunctionalInterface
public interface TaskBackendFactory {
  TaskBackend create(Vertx vertx, WorkerOptions options);
}
