package dev.oz.worker.kubernetes;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The start-up proof that task Jobs can run here: a small Job shaped like task Jobs (a root init container, or an
 * image volume, or a native sidecar with a startup probe), watched until the cluster admits it (a pod appears) or, in
 * the image-volume and copy-readiness modes, until it completes; a {@code FailedCreate} event, a failed pod or Job,
 * or the time limit fail the start with a message that says what to check. The Job is deleted either way.
 */
final class Preflight {
  private static final Logger log = LoggerFactory.getLogger(Preflight.class);
  private static final long EVENT_CHECK_MS = 1_000;

  private final Vertx vertx;
  private final Context context;
  private final KubeApi api;
  private final KubernetesOptions options;
  private final TaskJobs jobs;
  private final Clock clock;
  private final Promise<Void> result = Promise.promise();
  private final List<Watch> watches = new ArrayList<>();
  private Job created;
  private long eventTimer = -1;

  Preflight(Vertx vertx, Context context, KubeApi api, KubernetesOptions options, TaskJobs jobs, Clock clock) {
    this.vertx = vertx;
    this.context = context;
    this.api = api;
    this.options = options;
    this.jobs = jobs;
    this.clock = clock;
  }

  /** Whether a pod appearing is not enough: the Job must complete. */
  private boolean needsCompletion() {
    return options.isUseImageVolumes() || options.isSidecarCopyReadiness();
  }

  Future<Void> run() {
    Job spec = jobs.preflightJob(jobs.preflightName(clock.millis() * 1_000_000L + System.nanoTime() % 1_000_000L));
    String name = spec.getMetadata().getName();
    api.createJob(spec).onComplete(ar -> {
      if (ar.failed()) {
        result.tryFail(ar.cause().getMessage());
        return;
      }
      created = ar.result();
      long timer = vertx.setTimer(options.getPreflightTimeout().toMillis(), id -> result.tryFail(needsCompletion()
          ? "timed out waiting for startup preflight Job \"" + name + "\" to complete or surface a failure"
          : "timed out waiting for startup preflight Job \"" + name + "\" to create a Pod or surface a controller failure"));
      result.future().onComplete(done -> vertx.cancelTimer(timer));
      api.watchPods(Labels.JOB_NAME + "=" + name, null, watcher(this::onPod)).onSuccess(this::keep)
          .onFailure(err -> result.tryFail("failed to watch startup preflight Pods: " + err.getMessage()));
      api.watchJob(name, null, watcher(this::onJob)).onSuccess(this::keep)
          .onFailure(err -> result.tryFail("failed to watch startup preflight Job: " + err.getMessage()));
      checkEvents();
    });
    Promise<Void> outcome = Promise.promise();
    result.future().onComplete(ar -> {
      stop();
      Future<Void> cleanup = created == null ? Future.succeededFuture()
          : api.deleteJob(name, "Background", created.getMetadata().getUid()).recover(err -> {
            log.warn("Failed to delete startup preflight Job {}: {}", name, err.getMessage());
            return Future.succeededFuture();
          });
      cleanup.onComplete(c -> {
        if (ar.succeeded()) {
          outcome.complete();
        } else {
          outcome.fail(error(ar.cause().getMessage()));
        }
      });
    });
    return outcome.future();
  }

  private void keep(Watch w) {
    if (result.future().isComplete()) {
      context.executeBlocking(() -> {
        w.close();
        return null;
      }, false);
    } else {
      watches.add(w);
    }
  }

  private <T> Watcher<T> watcher(java.util.function.Consumer<T> onEvent) {
    return new Watcher<>() {
      @Override
      public void eventReceived(Action action, T resource) {
        if (action != Action.DELETED) {
          context.runOnContext(v -> onEvent.accept(resource));
        }
      }

      @Override
      public void onClose(WatcherException cause) {
        // the timer and the event check still decide
      }
    };
  }

  private void onPod(Pod pod) {
    if (!needsCompletion() || "Succeeded".equals(PodFailures.phase(pod))) {
      result.tryComplete();
      return;
    }
    PodFailures.Failure f = new PodFailures(options.getNamespace(), options.getUnschedulableTimeout(),
        options.getVolumeMountTimeout()).inspect(pod, null, null, clock.instant(), true);
    if (f != null) {
      result.tryFail(f.message());
    }
  }

  private void onJob(Job job) {
    if (PodFailures.complete(job)) {
      result.tryComplete();
    } else if (PodFailures.failed(job)) {
      result.tryFail("startup preflight Job \"" + job.getMetadata().getName() + "\" failed");
    }
  }

  /** FailedCreate events are the controller's only word when admission refuses the pod. */
  private void checkEvents() {
    if (result.future().isComplete()) {
      return;
    }
    api.listEvents(created.getMetadata().getUid()).onComplete(ar -> {
      if (ar.succeeded()) {
        for (Event e : ar.result()) {
          if ("Warning".equals(e.getType()) && "FailedCreate".equals(e.getReason())) {
            String message = e.getMessage() == null || e.getMessage().isBlank() ? e.getReason() : e.getMessage().strip();
            result.tryFail("preflight Job \"" + created.getMetadata().getName() + "\" could not create a Pod: " + message);
            return;
          }
        }
      }
      if (!result.future().isComplete()) {
        eventTimer = vertx.setTimer(EVENT_CHECK_MS, id -> checkEvents());
      }
    });
  }

  private void stop() {
    if (eventTimer >= 0) {
      vertx.cancelTimer(eventTimer);
    }
    List<Watch> open = new ArrayList<>(watches);
    watches.clear();
    if (!open.isEmpty()) {
      context.executeBlocking(() -> {
        open.forEach(Watch::close);
        return null;
      }, false);
    }
  }

  private String error(String cause) {
    if (options.isUseImageVolumes()) {
      return "kubernetes startup preflight failed: the kubernetes backend requires creating task Jobs that mount "
          + "sidecars via image volumes; verify service account/RBAC, Pod Security or admission policy, and "
          + "Kubernetes/runtime image-volume support for namespace \"" + options.getNamespace() + "\": " + cause;
    }
    return "kubernetes startup preflight failed: the kubernetes backend requires creating task Jobs with a root init "
        + "container for sidecar materialization; verify service account/RBAC and Pod Security or admission policy "
        + "for namespace \"" + options.getNamespace() + "\": " + cause;
  }
}
