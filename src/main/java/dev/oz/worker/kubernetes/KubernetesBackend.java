package dev.oz.worker.kubernetes;

import dev.oz.worker.backend.BackendContext;
import dev.oz.worker.backend.CancelReason;
import dev.oz.worker.backend.TaskBackend;
import dev.oz.worker.backend.TaskDescription;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.backend.TaskOutput;
import io.vertx.core.Future;

/** Runs each task as a Kubernetes Job (in progress: not registered yet). */
final class KubernetesBackend implements TaskBackend {
  KubernetesBackend(BackendContext<KubernetesOptions> context) {
  }

  @Override
  public Future<Void> start() {
    return Future.failedFuture("the kubernetes backend is not complete yet");
  }

  @Override
  public Future<TaskOutcome> execute(TaskDescription task, TaskOutput output) {
    throw new UnsupportedOperationException();
  }

  @Override
  public Future<Void> cancel(String taskId, CancelReason reason) {
    throw new UnsupportedOperationException();
  }

  @Override
  public Future<Void> shutdown() {
    return Future.succeededFuture();
  }
}
