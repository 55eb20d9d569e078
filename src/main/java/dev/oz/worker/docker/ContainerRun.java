package dev.oz.worker.docker;

import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.WaitResponse;
import dev.oz.worker.bus.Deadline;
import dev.oz.worker.logs.SecretRedaction;
import dev.oz.worker.backend.TaskOutput;
import dev.oz.worker.backend.CancelReason;
import dev.oz.worker.protocol.FailureReason;
import dev.oz.worker.backend.TaskOutcome;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import dev.oz.worker.config.Durations;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One task as one container: pull, sidecars, create, start, follow output, wait, classify, remove. State is
 * touched only on the backend's context; the wait and the log stream run on docker-java's own threads, so a
 * running container holds no pooled thread.
 */
final class ContainerRun {
  private static final Logger log = LoggerFactory.getLogger(ContainerRun.class);
  static final int LAST_LINES = 20;
  private static final long LOG_DRAIN_TIMEOUT_MS = 10_000;
  /** Up to this much output the catch-up re-reads the whole log (exact); beyond, only its tail. */
  private static final long FULL_CATCH_UP_LIMIT_BYTES = 4L * 1024 * 1024;
  static final String ENGINE_LOST = "Docker engine stopped while the task ran";

  private final DockerRuntime rt;
  private final ContainerSpec spec;
  private final TaskOutput output;
  private String containerId;
  private boolean started;
  private boolean exited;
  private LogFollower follower;
  private boolean outputEnded;
  private CancelReason cancelReason;
  private final CancelScope scope = new CancelScope();
  private long killTimer = -1;

  ContainerRun(DockerRuntime rt, ContainerSpec spec, TaskOutput output) {
    this.rt = rt;
    this.spec = spec;
    this.output = output;
  }

  /** Never fails: every failure becomes an outcome with its reason. */
  Future<TaskOutcome> run() {
    return Future.<Void>succeededFuture()
        .compose(v -> {
          SidecarVolumes.validate(spec.sidecars());
          return rt.puller().ensure(spec.image(), rt.settings().getPullPolicy(), true,
              FailureReason.IMAGE_PULL, scope);
        })
        .compose(image -> cancelReason != null ? Future.failedFuture(new Cancelled()) : rt.sidecars().prepare(spec.sidecars(), scope))
        .compose(this::create)
        .compose(id -> start())
        .compose(v -> follow())
        .recover(this::failureOutcome)
        .compose(outcome -> removeContainer().map(outcome));
  }

  /**
   * Follows the running container to its exit and classifies it. A non-zero exit or a broken wait may be the engine
   * going away (it stops its containers as it stops, and ends every stream): that is settled by asking the engine.
   */
  private Future<TaskOutcome> follow() {
    int outagesBefore = rt.health().outages();
    return runToExit().transform(exit -> {
      if (exit.succeeded() && (exit.result() == 0 || cancelReason != null)) {
        return classify(exit.result());
      }
      return rt.health().confirm().compose(up -> {
        if (up && rt.health().outages() == outagesBefore) {
          return exit.succeeded() ? classify(exit.result()) : Future.failedFuture(exit.cause());
        }
        return afterOutage();
      });
    });
  }

  /**
   * The engine went away while the container ran. Nothing is reported before it is back or the outage wait passed:
   * with live-restore the container still runs and is followed again; otherwise it ended with the engine.
   */
  private Future<TaskOutcome> afterOutage() {
    Duration wait = rt.settings().getEngineOutageWait();
    log.atWarn().addKeyValue("task_id", spec.taskId()).log("Task {}: the Docker engine went away while container {} ran;"
        + " waiting up to {} for it", spec.taskId(), shortId(), Durations.format(wait));
    return rt.health().whenUp(wait).compose(back -> {
      if (!back) {
        log.atWarn().addKeyValue("task_id", spec.taskId()).log("Task {}: the Docker engine did not return within {}",
            spec.taskId(), Durations.format(wait));
        return Future.succeededFuture(engineLost());
      }
      return rt.blocking().run(() -> new AfterOutage(
              Boolean.TRUE.equals(rt.docker().inspectContainerCmd(containerId).exec().getState().getRunning()),
              Boolean.TRUE.equals(rt.docker().infoCmd().exec().getRawValues().get("LiveRestoreEnabled"))))
          .compose(found -> {
            if (found.running() || found.liveRestore()) {
              // the engine kept it: still running, or it ended on its own while the engine was away
              log.atInfo().addKeyValue("task_id", spec.taskId()).log("Task {}: container {} {} (live-restore);"
                  + " following it again", spec.taskId(), shortId(),
                  found.running() ? "survived the engine restart" : "ended on its own while the engine was away");
              exited = false;
              if (cancelReason != null && found.running()) {
                signal("SIGKILL"); // the stop sent while the engine was away did not arrive
              }
              return follow();
            }
            // ended with the engine: collect what it wrote last, then say so
            return runToExit().transform(ar -> Future.succeededFuture(engineLost()));
          }, err -> Future.succeededFuture(engineLost()));
    });
  }

  /** What the engine says after it returned. */
  private record AfterOutage(boolean running, boolean liveRestore) {
  }

  private TaskOutcome engineLost() {
    if (started) {
      endOutput();
    }
    log.atWarn().addKeyValue("task_id", spec.taskId()).log("Task {}: {}", spec.taskId(), ENGINE_LOST);
    return TaskOutcome.failed(FailureReason.ENGINE_UNAVAILABLE, ENGINE_LOST);
  }

  private Future<String> create(List<String> sidecarBinds) {
    if (cancelReason != null) {
      return Future.failedFuture(new Cancelled());
    }
    List<Bind> binds = new ArrayList<>();
    for (String b : sidecarBinds) {
      binds.add(Bind.parse(b));
    }
    for (String v : rt.settings().getVolumes()) {
      binds.add(Bind.parse(v));
    }
    HostConfig host = HostConfig.newHostConfig().withBinds(binds);
    rt.settings().getPolicy().applyTo(host, spec.nanoCpus(), spec.memoryBytes());
    Map<String, String> labels = new HashMap<>();
    labels.put(DockerRuntime.WORKER_LABEL, rt.workerId());
    labels.put(DockerRuntime.TASK_LABEL, spec.taskId());
    if (spec.executionId() != null && !spec.executionId().isEmpty()) {
      labels.put(DockerRuntime.EXECUTION_LABEL, spec.executionId());
    }
    log.debug("Creating Docker container with image={} for task {}", spec.image(), spec.taskId());
    return rt.blocking().phase(FailureReason.CONTAINER_CREATE, "failed to create container", () -> {
      CreateContainerCmd cmd = rt.docker().createContainerCmd(spec.image())
          .withCmd(spec.command())
          .withEnv(spec.env())
          .withWorkingDir(spec.workingDir())
          .withLabels(labels)
          .withHostConfig(host);
      return cmd.exec().getId();
    }).onSuccess(id -> {
      containerId = id;
      log.atInfo().addKeyValue("task_id", spec.taskId()).log("Created container {} for task {}", shortId(), spec.taskId());
    });
  }

  private Future<Void> start() {
    if (cancelReason != null) {
      return Future.failedFuture(new Cancelled());
    }
    return rt.blocking().<Void>phase(FailureReason.CONTAINER_START, "failed to start container", () -> {
      rt.docker().startContainerCmd(containerId).exec();
      return null;
    }).onSuccess(v -> {
      started = true;
      log.atInfo().addKeyValue("task_id", spec.taskId()).log("Started container {} for task {}", shortId(), spec.taskId());
      if (cancelReason != null) {
        signal("SIGTERM");
        scheduleKill();
      }
    });
  }

  /** Follows the output (when wanted) and waits for the exit code, both on docker-java threads. */
  private Future<Long> runToExit() {
    LogFollower follow = null;
    if (output.wantsOutput() && !outputEnded) {
      // after an engine outage: read again, skipping what was delivered
      follow = follower == null ? new LogFollower(output, rt.blocking()) : follower.continuation();
      follower = follow;
      rt.docker().logContainerCmd(containerId).withFollowStream(true).withStdOut(true).withStdErr(true).exec(follow);
    }
    Promise<Long> exit = Promise.promise();
    rt.docker().waitContainerCmd(containerId).exec(new WaitCallback(rt.blocking(), exit));
    LogFollower following = follow;
    return exit.future()
        .andThen(ar -> {
          exited = true;
          if (killTimer >= 0) {
            rt.vertx().cancelTimer(killTimer);
          }
        })
        .compose(code -> drainOutput(following).map(code), err -> {
          // the wait broke (the engine may be gone): the output stays open in case the container is followed again
          if (following != null) {
            following.abandon();
          }
          return Future.failedFuture(err);
        });
  }

  /**
   * After exit the follow stream ends once the engine has sent everything (give up after a bound); then a
   * second, non-follow read delivers whatever the follow stream missed (see {@link LogFollower}).
   */
  private Future<Void> drainOutput(LogFollower follower) {
    if (follower == null) {
      endOutput();
      return Future.succeededFuture();
    }
    return awaitEnd(follower.done(), follower::abandon)
        .compose(v -> {
          if (!follower.endedNormally()) {
            return Future.succeededFuture();
          }
          if (follower.bytesRead() <= FULL_CATCH_UP_LIMIT_BYTES) {
            // exact: re-read everything, skip what was delivered
            LogFollower catchUp = follower.continuation();
            rt.docker().logContainerCmd(containerId).withStdOut(true).withStdErr(true).exec(catchUp);
            return awaitEnd(catchUp.done(), catchUp::abandon);
          }
          TailCatchUp catchUp = new TailCatchUp(follower, rt.blocking());
          rt.docker().logContainerCmd(containerId).withStdOut(true).withStdErr(true)
              .withTail(TailCatchUp.TAIL_ENTRIES).exec(catchUp);
          return awaitEnd(catchUp.done(), catchUp::close);
        })
        .onComplete(ar -> endOutput());
  }

  private void endOutput() {
    if (!outputEnded) {
      outputEnded = true;
      output.end();
    }
  }

  private Future<Void> awaitEnd(Future<Void> done, Runnable giveUp) {
    return Deadline.atMost(rt.vertx(), done, LOG_DRAIN_TIMEOUT_MS, () -> {
      log.warn("Task {}: output stream did not end {} ms after the container exited; closing it", spec.taskId(), LOG_DRAIN_TIMEOUT_MS);
      giveUp.run();
    });
  }

  private Future<TaskOutcome> classify(long code) {
    log.debug("Container {} of task {} exited with status code {}", shortId(), spec.taskId(), code);
    if (cancelReason != null) {
      return Future.succeededFuture(new TaskOutcome(TaskOutcome.Status.CANCELLED, "cancelled",
          cancelReason == CancelReason.SHUTDOWN ? FailureReason.GRACEFUL_SHUTDOWN : FailureReason.TASK_CANCELLED, (int) code));
    }
    if (code == 0) {
      log.info("Task {} execution completed successfully", spec.taskId());
      return Future.succeededFuture(TaskOutcome.succeeded());
    }
    return rt.blocking().run(() -> {
      InspectContainerResponse inspect = rt.docker().inspectContainerCmd(containerId).exec();
      boolean oom = Boolean.TRUE.equals(inspect.getState().getOOMKilled());
      logLastLines();
      return TaskOutcome.failed(oom ? FailureReason.CONTAINER_OOM : FailureReason.CONTAINER_EXIT,
          "container exited with non-zero status: " + code + (oom ? " (out of memory)" : ""), (int) code);
    }).recover(err -> Future.succeededFuture(TaskOutcome.failed(FailureReason.CONTAINER_EXIT,
        "container exited with non-zero status: " + code, (int) code)));
  }

  /** Blocking: the container's last lines go to the worker log, secrets redacted. */
  private void logLastLines() {
    StringBuilder text = new StringBuilder();
    try {
      rt.docker().logContainerCmd(containerId).withStdOut(true).withStdErr(true).withTail(LAST_LINES)
          .exec(new ResultCallback.Adapter<Frame>() {
            @Override
            public void onNext(Frame frame) {
              synchronized (text) {
                text.append(new String(frame.getPayload(), StandardCharsets.UTF_8));
              }
            }
          }).awaitCompletion(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      log.warn("Failed to get container logs of task {}: {}", spec.taskId(), e.getMessage());
      return;
    }
    List<String> secrets = new ArrayList<>(spec.secrets());
    secrets.addAll(rt.workerSecrets());
    String out;
    synchronized (text) {
      out = text.toString();
    }
    log.atInfo().addKeyValue("task_id", spec.taskId())
        .log("Container output of task {} (last {} lines):\n{}", spec.taskId(), LAST_LINES, SecretRedaction.redact(out, secrets));
  }

  /**
   * A phase failed; when the engine is not answering (one ping), that is the cause the task is reported with: a
   * stopping engine fails calls in many ways (refused, reset, 500 "database not open").
   */
  private Future<TaskOutcome> failureOutcome(Throwable err) {
    if (err instanceof Cancelled) {
      return Future.succeededFuture(phaseFailure(err));
    }
    return rt.health().confirm().map(up -> up ? phaseFailure(err) : engineLost());
  }

  private TaskOutcome phaseFailure(Throwable err) {
    if (started) {
      endOutput(); // a wait that broke left the output open
    }
    if (err instanceof Cancelled || (cancelReason != null && containerId == null)) {
      return new TaskOutcome(TaskOutcome.Status.CANCELLED, "cancelled before the container started",
          cancelReason == CancelReason.SHUTDOWN ? FailureReason.GRACEFUL_SHUTDOWN : FailureReason.TASK_CANCELLED, 0);
    }
    if (err instanceof TaskFailure f) {
      return TaskOutcome.failed(f.reason, f.getMessage());
    }
    log.error("Task {}: unexpected error", spec.taskId(), err);
    return TaskOutcome.failed(FailureReason.UNKNOWN, DockerEngine.rootMessage(err));
  }

  private Future<Void> removeContainer() {
    if (containerId == null) {
      return Future.succeededFuture();
    }
    if (!rt.options().isCleanup()) {
      log.info("Leaving container {} of task {} in place (cleanup disabled)", shortId(), spec.taskId());
      return Future.succeededFuture();
    }
    if (!rt.health().isUp()) {
      removeWhenEngineBack();
      return Future.succeededFuture();
    }
    return remove().recover(err -> {
      if (EngineHealth.isTransportError(err)) {
        removeWhenEngineBack();
      } else if (!(err instanceof NotFoundException)) {
        log.warn("Failed to remove container {} of task {}: {}", shortId(), spec.taskId(), err.getMessage());
      }
      return Future.succeededFuture();
    });
  }

  /** The report does not wait for the engine; its container goes once the engine is back. */
  private void removeWhenEngineBack() {
    log.info("Container {} of task {} will be removed when the Docker engine is back", shortId(), spec.taskId());
    rt.health().whenBack().compose(v -> remove()).onFailure(err -> {
      if (!(err instanceof NotFoundException)) {
        log.warn("Failed to remove container {} of task {}: {}", shortId(), spec.taskId(), err.getMessage());
      }
    });
  }

  private Future<Void> remove() {
    return rt.blocking().run(() -> {
      rt.docker().removeContainerCmd(containerId).withForce(true).withRemoveVolumes(true).exec();
      return null;
    });
  }

  /**
   * Stops the task: SIGTERM now, SIGKILL after the cancel grace period. A task whose container does not run
   * yet stops before creating or starting it.
   */
  void cancel(CancelReason reason) {
    if (cancelReason != null) {
      return;
    }
    cancelReason = reason;
    scope.cancel();
    if (started && !exited) {
      log.info("Stopping container {} of task {} (SIGTERM, SIGKILL after {})", shortId(), spec.taskId(),
          rt.settings().getCancelGracePeriod());
      signal("SIGTERM");
      scheduleKill();
    }
  }

  private void scheduleKill() {
    long graceMs = Math.max(1, rt.settings().getCancelGracePeriod().toMillis());
    killTimer = rt.vertx().setTimer(graceMs, id -> {
      killTimer = -1;
      if (!exited) {
        log.warn("Container {} of task {} did not stop within the grace period; killing it", shortId(), spec.taskId());
        signal("SIGKILL");
      }
    });
  }

  private void signal(String signal) {
    String id = containerId;
    rt.blocking().run(() -> {
      rt.docker().killContainerCmd(id).withSignal(signal).exec();
      return null;
    }).onFailure(err -> {
      if (!(err instanceof NotFoundException) && !(err instanceof ConflictException)) {
        log.warn("Failed to send {} to container {}: {}", signal, id, err.getMessage());
      }
    });
  }

  /** Force-removes the container now (backend shutdown with the task still running). */
  Future<Void> abandon() {
    cancelReason = cancelReason == null ? CancelReason.SHUTDOWN : cancelReason;
    if (containerId == null) {
      return Future.succeededFuture();
    }
    return rt.blocking().<Void>run(() -> {
      rt.docker().removeContainerCmd(containerId).withForce(true).withRemoveVolumes(true).exec();
      return null;
    }).recover(err -> Future.succeededFuture());
  }

  private String shortId() {
    return containerId == null ? "?" : containerId.substring(0, Math.min(12, containerId.length()));
  }

  /** The run stopped before the container started because the task was cancelled. */
  private static final class Cancelled extends RuntimeException {
    Cancelled() {
      super("cancelled", null, false, false);
    }
  }

  /** The container's exit code, delivered on the backend's context. */
  private static final class WaitCallback extends AsyncCallback<WaitResponse> {
    private final Blocking blocking;
    private final Promise<Long> exit;
    private volatile Integer statusCode;

    WaitCallback(Blocking blocking, Promise<Long> exit) {
      this.blocking = blocking;
      this.exit = exit;
    }

    @Override
    public void onNext(WaitResponse response) {
      statusCode = response.getStatusCode();
    }

    @Override
    protected void finished(Throwable error) {
      Integer code = statusCode;
      blocking.onContext(() -> {
        if (code != null) {
          exit.tryComplete((long) code);
        } else {
          String why = error == null ? "the wait ended without an exit code" : DockerEngine.rootMessage(error);
          exit.tryFail(new TaskFailure(FailureReason.CONTAINER_WAIT, "error waiting for container: " + why, error));
        }
      });
    }
  }
}
