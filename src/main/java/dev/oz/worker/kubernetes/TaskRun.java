package dev.oz.worker.kubernetes;

import dev.oz.worker.backend.CancelReason;
import dev.oz.worker.backend.SetupEvent;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.backend.TaskOutput;
import dev.oz.worker.protocol.FailureReason;
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
import io.vertx.core.json.JsonObject;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One execution of a task as a Job, from creation (or adoption) to its one outcome. Lives on the backend's event
 * loop: the Job and pod watches and the safety poll only deliver snapshots here; nothing blocks and no thread is the
 * task's own. The pod watch sees failures first; the Job watch and a poll every {@code safety_poll_interval} are the
 * fallbacks. A watch that closes is reopened from the last resource version it delivered (from the current state
 * when that is too old), so no terminal state is lost.
 */
final class TaskRun {
  private static final Logger log = LoggerFactory.getLogger(TaskRun.class);
  /** How long the pod's log streams may take to deliver their last bytes after the task ended. */
  static final long LOG_DRAIN_MS = 5_000;

  private final Vertx vertx;
  private final Context context;
  private final KubeApi api;
  private final KubernetesOptions options;
  private final PodFailures failures;
  private final Clock clock;
  private final boolean cleanup;
  private final String taskId;
  private final String execution;
  private final String jobName;
  private final TaskOutput output;
  private final PodLogs logs;
  private final SetupPhases phases;
  private final Promise<TaskOutcome> outcome = Promise.promise();
  private final Map<String, Pod> pods = new LinkedHashMap<>();
  private Job job;
  private String jobUid;
  private Watch jobWatch;
  private Watch podWatch;
  private String jobVersion;
  private String podVersion;
  private long pollTimer = -1;
  private long unschedulableTimer = -1;
  /** Set once the outcome is being decided: later snapshots change nothing. */
  private boolean ending;
  private boolean detached;
  private CancelReason cancelled;

  TaskRun(Vertx vertx, Context context, KubeApi api, KubernetesOptions options, Clock clock, boolean cleanup,
      String taskId, String execution, String jobName, TaskOutput output) {
    this.vertx = vertx;
    this.context = context;
    this.api = api;
    this.options = options;
    this.failures = new PodFailures(options.getNamespace(), options.getUnschedulableTimeout(), options.getVolumeMountTimeout());
    this.clock = clock;
    this.cleanup = cleanup;
    this.taskId = taskId;
    this.execution = execution;
    this.jobName = jobName;
    this.output = output;
    this.logs = new PodLogs(api, output, taskId);
    this.phases = new SetupPhases(output::setupEvent);
  }

  Future<TaskOutcome> outcome() {
    return outcome.future();
  }

  String jobName() {
    return jobName;
  }

  /** Creates the Job and follows it. */
  Future<TaskOutcome> create(Job spec) {
    Instant start = clock.instant();
    log.atInfo().addKeyValue("task_id", taskId).log("Creating Kubernetes Job {} in namespace {}", jobName,
        options.getNamespace());
    api.createJob(spec).onComplete(ar -> {
      phases.report(SetupEvent.JOB_CREATE, start, clock.instant(), ar.failed());
      if (ar.failed()) {
        ending = true;
        finishFailed(FailureReason.JOB_CREATE, "failed to create Kubernetes Job: " + ar.cause().getMessage(), 0,
            FailureDetails.of(null, clock.instant(), spec, null, null, null), false);
        return;
      }
      job = ar.result();
      jobUid = job.getMetadata().getUid();
      if (cancelled != null) {
        cancelCreated();
        return;
      }
      follow(null, null);
    });
    return outcome.future();
  }

  /**
   * Follows a Job an earlier worker process created (an adopted task) from its current state; a Job that ended
   * meanwhile ends the task at once. Its output resumes from now, after a line saying so.
   */
  Future<TaskOutcome> adopt(Job existing) {
    job = existing;
    jobUid = existing.getMetadata().getUid();
    String now = Events.format(clock.instant());
    logs.since(now);
    if (output.wantsOutput()) {
      byte[] gap = ("[oz-agent-worker: a restarted worker follows this task from " + now + "; earlier output is not "
          + "repeated, and output written while no worker was following may be missing]\n")
          .getBytes(java.nio.charset.StandardCharsets.UTF_8);
      output.write(dev.oz.worker.backend.StdStream.STDOUT, gap, 0, gap.length);
    }
    if (PodFailures.complete(job) || PodFailures.failed(job)) {
      onJob(job, FailureDetails.SAFETY_POLL);
    }
    if (!ending) {
      follow(null, null);
    }
    return outcome.future();
  }

  private void follow(String jobFrom, String podFrom) {
    openJobWatch(jobFrom);
    openPodWatch(podFrom);
    schedulePoll();
  }

  private String podSelector() {
    return Labels.EXECUTION_HASH + "=" + Labels.hash(execution);
  }

  private void openJobWatch(String from) {
    api.watchJob(jobName, from, watcher(this::onJobEvent, this::onJobWatchClosed)).onComplete(ar -> {
      if (ar.failed()) {
        watchFailed(FailureReason.JOB_WATCH, "failed to watch Job " + jobName + ": " + ar.cause().getMessage(),
            FailureDetails.JOB_WATCH);
      } else if (ending || detached) {
        ar.result().close();
      } else {
        jobWatch = ar.result();
      }
    });
  }

  private void openPodWatch(String from) {
    api.watchPods(podSelector(), from, watcher(this::onPodEvent, this::onPodWatchClosed)).onComplete(ar -> {
      if (ar.failed()) {
        watchFailed(FailureReason.POD_WATCH, "failed to watch Pods for Job " + jobName + ": " + ar.cause().getMessage(),
            FailureDetails.POD_WATCH);
      } else if (ending || detached) {
        ar.result().close();
      } else {
        podWatch = ar.result();
      }
    });
  }

  /** A fabric8 watcher whose callbacks hop onto this run's event loop. */
  private <T> Watcher<T> watcher(java.util.function.BiConsumer<Watcher.Action, T> onEvent, Consumer<WatcherException> onClose) {
    return new Watcher<>() {
      @Override
      public void eventReceived(Action action, T resource) {
        context.runOnContext(v -> onEvent.accept(action, resource));
      }

      @Override
      public void onClose(WatcherException cause) {
        context.runOnContext(v -> onClose.accept(cause));
      }

      @Override
      public void onClose() {
        // closed by us
      }
    };
  }

  private void onJobWatchClosed(WatcherException cause) {
    jobWatch = null;
    if (ending || detached) {
      return;
    }
    boolean gone = cause != null && cause.isHttpGone();
    log.atWarn().addKeyValue("task_id", taskId).log("Job watch for {} closed ({}); reopening {}", jobName,
        cause == null ? "no reason" : cause.getMessage(), gone ? "from its current state" : "from version " + jobVersion);
    openJobWatch(gone ? null : jobVersion);
  }

  private void onPodWatchClosed(WatcherException cause) {
    podWatch = null;
    if (ending || detached) {
      return;
    }
    boolean gone = cause != null && cause.isHttpGone();
    log.atWarn().addKeyValue("task_id", taskId).log("Pod watch for {} closed ({}); reopening {}", jobName,
        cause == null ? "no reason" : cause.getMessage(), gone ? "from its current state" : "from version " + podVersion);
    openPodWatch(gone ? null : podVersion);
  }

  private void onJobEvent(Watcher.Action action, Job event) {
    if (ending || detached || event == null) {
      return;
    }
    jobVersion = event.getMetadata().getResourceVersion();
    if (action == Watcher.Action.DELETED) {
      if (cancelled == null && jobUid != null && jobUid.equals(event.getMetadata().getUid())) {
        ending = true;
        finishFailed(FailureReason.JOB_WATCH, "kubernetes Job " + jobName + " was deleted while the task was running",
            0, details(FailureDetails.JOB_WATCH, event, null, null, List.of()), true);
      }
      return;
    }
    onJob(event, FailureDetails.JOB_WATCH);
  }

  private void onPodEvent(Watcher.Action action, Pod pod) {
    if (ending || detached || pod == null) {
      return;
    }
    podVersion = pod.getMetadata().getResourceVersion();
    if (action == Watcher.Action.DELETED) {
      return;
    }
    onPod(pod, FailureDetails.POD_WATCH);
  }

  /** A Job snapshot: terminal states decide the outcome. */
  private void onJob(Job snapshot, String source) {
    if (jobUid != null && !jobUid.equals(snapshot.getMetadata().getUid())) {
      ending = true;
      finishFailed(FailureReason.JOB_WATCH, "job " + jobName + " was replaced while "
          + (FailureDetails.SAFETY_POLL.equals(source) ? "polling" : "watching"), 0,
          details(source, job, null, null, List.of()), true);
      return;
    }
    job = snapshot;
    if (PodFailures.complete(snapshot)) {
      ending = true;
      succeed();
    } else if (PodFailures.failed(snapshot)) {
      ending = true;
      explainFailedJob(source);
    }
  }

  /** A failed Job: a pod usually says why; else the Job's own condition (deadline, backoff). */
  private void explainFailedJob(String source) {
    api.listPods(podSelector()).onComplete(ar -> {
      List<Pod> list = ar.succeeded() ? ar.result().getItems() : new ArrayList<>(pods.values());
      inspectAll(list, source, true).onComplete(found -> {
        if (found.succeeded() && found.result() != null) {
          fail(found.result(), source);
          return;
        }
        PodFailures.Failure f = failures.jobFailure(job);
        withEvents(null).onComplete(ev -> finishFailed(f.reason(), f.message(), 0,
            details(source, job, null, null, ev.result()), true));
      });
    });
  }

  /** The first failure among these pods (events listed for those in trouble). */
  private Future<Found> inspectAll(List<Pod> list, String source, boolean failFast) {
    Future<Found> chain = Future.succeededFuture(null);
    for (Pod pod : list) {
      chain = chain.compose(found -> found != null ? Future.succeededFuture(found) : inspect(pod, failFast));
    }
    return chain;
  }

  private record Found(Pod pod, PodFailures.Failure failure) {
  }

  private Future<Found> inspect(Pod pod, boolean failFast) {
    PodFailures.Failure quick = failures.inspect(pod, job, null, clock.instant(), failFast);
    if (quick != null || !PodFailures.troubled(pod)) {
      return Future.succeededFuture(quick == null ? null : new Found(pod, quick));
    }
    return api.listEvents(pod.getMetadata().getUid())
        .otherwise(List.of())
        .map(events -> {
          PodFailures.Failure f = failures.inspect(pod, job, events, clock.instant(), failFast);
          return f == null ? null : new Found(pod, f);
        });
  }

  private void onPod(Pod pod, String source) {
    pods.put(pod.getMetadata().getUid(), pod);
    phases.observe(pod);
    logs.observe(pod);
    scheduleUnschedulableCheck(pod);
    inspect(pod, false).onComplete(ar -> {
      if (ar.succeeded() && ar.result() != null && !ending && !detached) {
        ending = true;
        fail(ar.result(), source);
      }
    });
  }

  /** Unschedulable pods fail at creation + timeout even if nothing else happens by then. */
  private void scheduleUnschedulableCheck(Pod pod) {
    Instant deadline = failures.unschedulableDeadline(pod);
    if (deadline == null || unschedulableTimer >= 0) {
      return;
    }
    long ms = Math.max(1, deadline.toEpochMilli() - clock.millis() + 10);
    unschedulableTimer = vertx.setTimer(ms, id -> {
      unschedulableTimer = -1;
      Pod latest = pods.get(pod.getMetadata().getUid());
      if (latest != null && !ending && !detached) {
        onPod(latest, FailureDetails.POD_WATCH);
      }
    });
  }

  private void schedulePoll() {
    if (ending || detached) {
      return;
    }
    pollTimer = vertx.setTimer(options.getSafetyPollInterval().toMillis(), id -> {
      pollTimer = -1;
      poll();
    });
  }

  /** The safety net: re-read the Job and its pods in case a watch missed something. */
  private void poll() {
    if (ending || detached) {
      return;
    }
    api.getJob(jobName).onComplete(ar -> {
      if (ending || detached) {
        return;
      }
      if (ar.failed() || ar.result() == null) {
        ending = true;
        String why = ar.failed() ? ar.cause().getMessage() : "not found";
        finishFailed(FailureReason.JOB_WATCH, "failed to get Job " + jobName + ": " + why, 0,
            details(FailureDetails.SAFETY_POLL, job, null, null, List.of()), true);
        return;
      }
      onJob(ar.result(), FailureDetails.SAFETY_POLL);
      if (ending) {
        return;
      }
      api.listPods(podSelector()).onComplete(list -> {
        if (ending || detached) {
          return;
        }
        if (list.failed()) {
          ending = true;
          finishFailed(FailureReason.POD_WATCH, "failed to list task pods for Job " + jobName + ": "
              + list.cause().getMessage(), 0, details(FailureDetails.SAFETY_POLL, job, null, null, List.of()), true);
          return;
        }
        for (Pod p : list.result().getItems()) {
          pods.put(p.getMetadata().getUid(), p);
          phases.observe(p);
          logs.observe(p);
        }
        inspectAll(list.result().getItems(), FailureDetails.SAFETY_POLL, false).onComplete(found -> {
          if (found.succeeded() && found.result() != null && !ending && !detached) {
            ending = true;
            fail(found.result(), FailureDetails.SAFETY_POLL);
          } else {
            schedulePoll();
          }
        });
      });
    });
  }

  private void watchFailed(FailureReason reason, String message, String source) {
    if (ending || detached) {
      return;
    }
    ending = true;
    finishFailed(reason, message, 0, details(source, job, null, null, List.of()), true);
  }

  /** A pod failure: refresh the Job for the details, list events, then expire the Job if it still runs. */
  private void fail(Found found, String source) {
    Future<Job> fresh = FailureDetails.POD_WATCH.equals(source)
        ? api.getJob(jobName).map(j -> j != null && j.getMetadata().getUid().equals(jobUid) ? j : job).otherwise(job)
        : Future.succeededFuture(job);
    fresh.onComplete(j -> {
      job = j.result();
      withEvents(found.pod()).onComplete(ev -> {
        PodFailures.Failure f = found.failure();
        finishFailed(f.reason(), f.message(), f.exitCode(), details(source, job, found.pod(), f.container(), ev.result()),
            f.executionStopped());
      });
    });
  }

  /** Events of the pod and of the Job, each listed by uid; listing errors leave them out. */
  private Future<List<Event>> withEvents(Pod pod) {
    List<Future<List<Event>>> lists = new ArrayList<>();
    if (pod != null && pod.getMetadata().getUid() != null) {
      lists.add(api.listEvents(pod.getMetadata().getUid()).otherwise(List.of()));
    }
    if (jobUid != null) {
      lists.add(api.listEvents(jobUid).otherwise(List.of()));
    }
    return Future.all(lists).map(all -> {
      List<Event> out = new ArrayList<>();
      for (int i = 0; i < all.size(); i++) {
        out.addAll(all.<List<Event>>resultAt(i));
      }
      return out;
    });
  }

  private JsonObject details(String source, Job j, Pod pod, FailureDetails.ContainerState container, List<Event> events) {
    return FailureDetails.of(source, clock.instant(), j, pod, container, events);
  }

  private void succeed() {
    log.atInfo().addKeyValue("task_id", taskId).log("Task {} execution completed successfully", taskId);
    stopTimers();
    // the watches close last, once the Job is dealt with (events meanwhile are ignored)
    Future<Void> removed = markOutcome("succeeded")
        .compose(v -> cleanup ? deleteSucceeded() : Future.succeededFuture())
        .andThen(v -> closeWatches());
    removed.onComplete(ar -> logs.finish(vertx, LOG_DRAIN_MS).onComplete(v -> outcome.tryComplete(TaskOutcome.succeeded())));
  }

  private Future<Void> deleteSucceeded() {
    Future<Void> delete = api.deleteJob(jobName, "Background", jobUid)
        .onFailure(err -> log.atWarn().addKeyValue("task_id", taskId).log("Failed to delete Job {}: {}", jobName,
            err.getMessage()));
    return dev.oz.worker.bus.Deadline.atMost(vertx, delete, options.getCleanupTimeout().toMillis(), () ->
        log.atWarn().addKeyValue("task_id", taskId).log("Deleting Job {} took longer than {}; leaving it to its TTL",
            jobName, options.getCleanupTimeout()));
  }

  /**
   * Marks the Job as decided, just before the report goes out: a restarted worker does not adopt it again. Best
   * effort (an unmarked Job may be adopted and reported a second time).
   */
  private Future<Void> markOutcome(String outcome) {
    if (jobUid == null) {
      return Future.succeededFuture();
    }
    Future<Void> marked = api.getJob(jobName)
        .compose(current -> current == null || !jobUid.equals(current.getMetadata().getUid()) ? Future.succeededFuture()
            : api.annotateJob(jobName, jobUid, Map.of(TaskJobs.OUTCOME_ANNOTATION, outcome)))
        .onFailure(err -> log.atWarn().addKeyValue("task_id", taskId).log("Could not mark Job {} as {}: {}", jobName,
            outcome, err.getMessage()));
    return dev.oz.worker.bus.Deadline.atMost(vertx, marked, options.getCleanupTimeout().toMillis(), () -> { });
  }

  /**
   * The one failure outcome: a Job that may still run is expired first (failed Jobs are kept for inspection until
   * their TTL), and a failed expiry is said in the message.
   */
  private void finishFailed(FailureReason reason, String message, int exitCode, JsonObject details, boolean stopped) {
    stopTimers();
    Future<Void> expired = (job == null || jobUid == null ? Future.<Void>succeededFuture()
        : markOutcome("failed")
            .compose(v -> new JobExpiry(vertx, api, options.getCleanupTimeout(), taskId).expire(job, stopped)))
        .andThen(v -> closeWatches());
    expired.recover(err -> {
      log.atError().addKeyValue("task_id", taskId).log("Failed to stop Kubernetes Job {} after terminal task failure; "
          + "it may still be active: {}", jobName, err.getMessage());
      return Future.failedFuture(err);
    }).onComplete(ar -> logs.finish(vertx, LOG_DRAIN_MS).onComplete(v -> {
      String cause = ar.failed() ? message + "; failed to stop Kubernetes Job " + jobName + ": " + ar.cause().getMessage()
          : message;
      outcome.tryComplete(TaskOutcome.failed(reason, cause, exitCode, details));
    }));
  }

  /** A user cancel deletes the Job (only this execution's), then the task ends as cancelled. */
  void cancel(CancelReason reason) {
    if (ending || detached || cancelled != null) {
      return;
    }
    cancelled = reason;
    if (reason == CancelReason.SHUTDOWN) {
      // Jobs outlive the worker: nothing to stop
      detach();
      outcome.tryComplete(TaskOutcome.failed(FailureReason.GRACEFUL_SHUTDOWN, "worker shutting down"));
      return;
    }
    ending = true;
    stopTimers();
    if (jobUid != null) {
      cancelCreated();
    }
    // else: the create is still in flight; its completion deletes the Job
  }

  private void cancelCreated() {
    log.atInfo().addKeyValue("task_id", taskId).log("Deleting Kubernetes Job {} after task cancellation", jobName);
    api.getJob(jobName).compose(current -> {
      if (current == null) {
        return Future.succeededFuture();
      }
      String hash = current.getMetadata().getLabels() == null ? null
          : current.getMetadata().getLabels().get(Labels.EXECUTION_HASH);
      if (!Labels.hash(execution).equals(hash)) {
        log.atWarn().addKeyValue("task_id", taskId).log("Not deleting Job {}: it belongs to another execution", jobName);
        return Future.succeededFuture();
      }
      return api.deleteJob(jobName, "Foreground", current.getMetadata().getUid());
    }).onComplete(ar -> {
      if (ar.failed()) {
        log.atWarn().addKeyValue("task_id", taskId).log("Failed to delete Kubernetes Job {}: {}", jobName,
            ar.cause().getMessage());
      }
      closeWatches();
      logs.finish(vertx, 0).onComplete(v -> outcome.tryComplete(TaskOutcome.cancelled()));
    });
  }

  /** Stops watching without touching the Job (worker shutdown): the outcome is left to whoever adopts it. */
  void detach() {
    detached = true;
    stopWatching();
    logs.stop();
  }

  private void stopWatching() {
    stopTimers();
    closeWatches();
  }

  private void stopTimers() {
    if (pollTimer >= 0) {
      vertx.cancelTimer(pollTimer);
      pollTimer = -1;
    }
    if (unschedulableTimer >= 0) {
      vertx.cancelTimer(unschedulableTimer);
      unschedulableTimer = -1;
    }
  }

  private void closeWatches() {
    Watch jw = jobWatch;
    Watch pw = podWatch;
    jobWatch = null;
    podWatch = null;
    if (jw != null || pw != null) {
      // close() may block briefly on the connection: not on the event loop
      context.executeBlocking(() -> {
        if (jw != null) {
          jw.close();
        }
        if (pw != null) {
          pw.close();
        }
        return null;
      }, false);
    }
  }
}
