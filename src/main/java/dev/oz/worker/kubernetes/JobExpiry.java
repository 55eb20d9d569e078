package dev.oz.worker.kubernetes;

import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stops a failed task's Job without deleting it, so that its pods can be inspected until the Job's TTL
 * (GO-WORKER-NEWER.md section 10): a merge patch fenced by the Job's uid and resource version that sets
 * {@code activeDeadlineSeconds: 1}, {@code parallelism: 0} and {@code suspend: false}. Skipped when the Job already
 * finished or is known to be stopped; refused when a Job of the same name is another execution's. Conflicts and
 * transient errors are retried with the API backoff, within the cleanup time limit.
 */
final class JobExpiry {
  private static final Logger log = LoggerFactory.getLogger(JobExpiry.class);
  /** Set on the pods the Job controller creates, with the Job's uid. */
  static final String CONTROLLER_UID = "batch.kubernetes.io/controller-uid";

  private final Vertx vertx;
  private final KubeApi api;
  private final Duration limit;
  private final String taskId;

  JobExpiry(Vertx vertx, KubeApi api, Duration limit, String taskId) {
    this.vertx = vertx;
    this.api = api;
    this.limit = limit;
    this.taskId = taskId;
  }

  /** A refusal, not worth retrying. */
  static final class Refused extends RuntimeException {
    Refused(String message) {
      super(message);
    }
  }

  /**
   * @param observed the Job as last seen
   * @param executionStopped the failure showed the execution ended: check the pods before patching
   */
  Future<Void> expire(Job observed, boolean executionStopped) {
    if (PodFailures.complete(observed) || PodFailures.failed(observed)) {
      return Future.succeededFuture();
    }
    Promise<Void> done = Promise.promise();
    long deadline = System.nanoTime() + limit.toNanos();
    attempt(observed, executionStopped, 1, deadline, done);
    return done.future();
  }

  private void attempt(Job observed, boolean executionStopped, int n, long deadline, Promise<Void> done) {
    once(observed, executionStopped).onComplete(ar -> {
      if (ar.succeeded()) {
        done.tryComplete();
        return;
      }
      Throwable err = ar.cause();
      boolean retry = !(err instanceof Refused) && (KubeApi.transientError(err)
          || (err instanceof KubeApi.ApiException a && a.conflict()));
      long delay = api.delayMs(Math.min(n, KubeApi.ATTEMPTS));
      if (!retry || n >= KubeApi.ATTEMPTS || System.nanoTime() + delay * 1_000_000 > deadline) {
        done.tryFail(err);
        return;
      }
      vertx.setTimer(delay, id -> attempt(observed, executionStopped, n + 1, deadline, done));
    });
  }

  private Future<Void> once(Job observed, boolean executionStopped) {
    String name = observed.getMetadata().getName();
    return api.getJob(name).recover(err -> {
      // the uid and resource version still fence the patch
      log.atWarn().addKeyValue("task_id", taskId).log("Cannot refresh abandoned Job {}; expiring it as last seen: {}",
          name, err.getMessage());
      return Future.succeededFuture(observed);
    }).compose(job -> {
      if (job == null) {
        return Future.succeededFuture(); // gone: nothing runs
      }
      if (!job.getMetadata().getUid().equals(observed.getMetadata().getUid())) {
        return Future.failedFuture(new Refused("job " + name + " was replaced; refusing to expire another execution"));
      }
      if (PodFailures.complete(job) || PodFailures.failed(job)) {
        return Future.succeededFuture();
      }
      Future<Boolean> stopped = executionStopped ? podsStopped(job).otherwise(false) : Future.succeededFuture(false);
      return stopped.compose(isStopped -> isStopped ? Future.succeededFuture() : patch(job));
    });
  }

  /** backoffLimit 0, no pod failure policy, every pod of this Job terminal and one of them failed. */
  private Future<Boolean> podsStopped(Job job) {
    if (job.getSpec() == null || job.getSpec().getBackoffLimit() == null || job.getSpec().getBackoffLimit() != 0
        || job.getSpec().getPodFailurePolicy() != null) {
      return Future.succeededFuture(false);
    }
    return api.listPods(CONTROLLER_UID + "=" + job.getMetadata().getUid()).map(list -> {
      boolean failed = false;
      for (Pod pod : list.getItems()) {
        if (!controlledBy(pod, job)) {
          continue;
        }
        String phase = PodFailures.phase(pod);
        if ("Failed".equals(phase)) {
          failed = true;
        } else if (!"Succeeded".equals(phase)) {
          return false;
        }
      }
      return failed;
    });
  }

  private static boolean controlledBy(Pod pod, Job job) {
    if (pod.getMetadata().getOwnerReferences() == null) {
      return false;
    }
    for (OwnerReference ref : pod.getMetadata().getOwnerReferences()) {
      if (Boolean.TRUE.equals(ref.getController()) && job.getMetadata().getUid().equals(ref.getUid())) {
        return true;
      }
    }
    return false;
  }

  private Future<Void> patch(Job job) {
    JsonObject patch = new JsonObject()
        .put("metadata", new JsonObject().put("uid", job.getMetadata().getUid())
            .put("resourceVersion", job.getMetadata().getResourceVersion()))
        .put("spec", new JsonObject().put("activeDeadlineSeconds", 1).put("parallelism", 0).put("suspend", false));
    return api.mergePatchJob(job.getMetadata().getName(), patch)
        .<Void>mapEmpty()
        .recover(err -> err instanceof KubeApi.ApiException a && a.notFound() ? Future.succeededFuture()
            : Future.failedFuture(err))
        .onSuccess(v -> log.atInfo().addKeyValue("task_id", taskId).log("Requested expiration of abandoned Kubernetes "
            + "Job {}; retaining it according to its TTL", job.getMetadata().getName()));
  }
}
