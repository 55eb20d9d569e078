package dev.oz.worker.docker;

import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.logs.TaskOutput;
import dev.oz.worker.task.CancelReason;
import dev.oz.worker.task.TaskBackend;
import dev.oz.worker.task.TaskOutcome;
import dev.oz.worker.task.TaskSpec;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/** Runs each task as a container on the local Docker engine. */
public final class DockerBackend implements TaskBackend {

  public static TaskBackend create(Vertx vertx, WorkerOptions options) {
    return new DockerBackend();
  }

  @Override
  public Future<TaskOutcome> execute(TaskSpec spec, TaskOutput output) {
    return Future.failedFuture("not implemented");
  }

  @Override
  public Future<Void> cancel(String taskId, CancelReason reason) {
    return Future.succeededFuture();
  }

  @Override
  public Future<Void> shutdown() {
    return Future.succeededFuture();
  }
}
