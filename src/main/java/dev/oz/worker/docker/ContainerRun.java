package dev.oz.worker.docker;

import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.HostConfig;
import dev.oz.worker.bus.Deadline;
import dev.oz.worker.logs.SecretRedaction;
import dev.oz.worker.backend.OutputOrigin;
import dev.oz.worker.backend.SetupEvent;
import dev.oz.worker.backend.TaskOutput;
import dev.oz.worker.backend.CancelReason;
import dev.oz.worker.protocol.FailureReason;
import dev.oz.worker.backend.TaskOutcome;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import dev.oz.worker.config.Durations;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One task as one container: pull, sidecars, create, start, follow output, learn the exit, classify, remove. State
 * is touched only on the backend's context; the exit (die event or wait) and the log stream are non-blocking engine
 * calls, so a running container holds no thread.
 */
final class ContainerRun {
  private static final Logger log = LoggerFactory.getLogger(ContainerRun.class);
  static final int LAST_LINES = 20;
  private static final long LOG_DRAIN_TIMEOUT_MS = 10_000;
  /**
   * The longest the container's removal waits, after the outcome, for word that the report was handed on
   * ({@link #reported()}): the report's path (log flush, outbox) normally takes milliseconds; a lifecycle that never
   * says so (it failed, or a test drives the backend alone) must not leave the container behind.
   */
  static final long REPORT_WAIT_MS = 5_000;
  /** Up to this much output the catch-up re-reads the whole log (exact); beyond, only its tail. */
  private static final long FULL_CATCH_UP_LIMIT_BYTES = 4L * 1024 * 1024;
  private static final int CATCH_UP_ATTEMPTS = 3;
  static final String ENGINE_LOST = "Docker engine stopped while the task ran";

  private final DockerRuntime rt;
  private final ContainerSpec spec;
  private final TaskOutput output;
  private String containerId;
  /** The engine's name for the container ({@code container.name} of shipped output); null if unknown. */
  private volatile String containerName;
  private boolean started;
  private boolean exited;
  private LogFollower follower;
  private boolean outputEnded;
  private CancelReason cancelReason;
  private final CancelScope scope = new CancelScope();
  private long killTimer = -1;
  /** The worker shuts down preserving tasks: stop watching, touch nothing (the next process adopts the container). */
  private boolean detached;
  /** An adopted container this worker does not continue: stopped and reported as failed with this cause. */
  private String orphanCause;
  /** Adopted in state "created": the earlier process stopped before starting it. */
  private boolean neverStarted;
  /** The container's exit code; failed by {@link #detach()} so the run ends without waiting for the engine. */
  private Promise<Long> exit;
  /** The exit code from the engine's {@code die} event, asked for before the container starts; null once used. */
  private Future<Long> exitEvent;
  private final Promise<Void> removed = Promise.promise();
  /** The lifecycle handed the task's terminal report on: the container's removal may start. */
  private final Promise<Void> reportHandedOn = Promise.promise();

  ContainerRun(DockerRuntime rt, ContainerSpec spec, TaskOutput output) {
    this.rt = rt;
    this.spec = spec;
    this.output = output;
  }

  /** A run of a container an earlier worker process created ({@link ContainerAdoption}). */
  static ContainerRun adopted(DockerRuntime rt, ContainerSpec spec, String containerId, TaskOutput output,
      boolean running, boolean neverStarted) {
    ContainerRun run = new ContainerRun(rt, spec, output);
    run.containerId = containerId;
    run.started = running;
    run.neverStarted = neverStarted;
    return run;
  }

  /** Never fails: every failure becomes an outcome with its reason. The container is removed after it, see {@link #removed()}. */
  Future<TaskOutcome> run() {
    Instant[] pullStarted = {null};
    return Future.<Void>succeededFuture()
        .compose(v -> {
          SidecarVolumes.validate(spec.sidecars());
          return rt.puller().ensure(spec.image(), rt.settings().getPullPolicy(), true,
              FailureReason.IMAGE_PULL, scope, () -> {
                if (pullStarted[0] == null) {
                  pullStarted[0] = Instant.now();
                }
              }).andThen(ar -> {
                if (pullStarted[0] != null) {
                  phase(SetupEvent.IMAGE_PULL, pullStarted[0], ar.failed());
                }
              });
        })
        .compose(image -> {
          if (cancelReason != null) {
            return Future.failedFuture(new Cancelled());
          }
          if (spec.sidecars().isEmpty()) {
            return rt.sidecars().prepare(spec.sidecars(), scope);
          }
          Instant started = Instant.now();
          return rt.sidecars().prepare(spec.sidecars(), scope)
              .andThen(ar -> phase(SetupEvent.SIDECAR_PREP, started, ar.failed()));
        })
        .compose(binds -> {
          Instant started = Instant.now();
          return create(binds).compose(id -> detached ? Future.failedFuture(new Detached()) : start())
              .andThen(ar -> phase(SetupEvent.CONTAINER_START, started, ar.failed()));
        })
        .compose(v -> toOutcome())
        .recover(this::failureOutcome)
        .onComplete(ar -> removeAfterReport());
  }

  /**
   * The report goes out first; removal follows once the lifecycle says the report was handed on ({@link #reported()},
   * at most {@link #REPORT_WAIT_MS} after the outcome) and never delays it (a failed removal is logged, and the next
   * start's sweep finds what is left). A detached run leaves its container to the next worker process.
   */
  private void removeAfterReport() {
    if (containerId != null) {
      rt.exits().forget(containerId);
    }
    if (detached || containerId == null) {
      removed.tryComplete();
      return;
    }
    // the engine's cleanup of a container (unmounts, deletes) competes with the report's path for the CPU: let the
    // report go first (on Engine 26 on 2 CPUs, removing at once added 5-14 ms to exit -> report at p95)
    Deadline.atMost(rt.vertx(), reportHandedOn.future(), REPORT_WAIT_MS, () -> log.info(
            "Task {}: no word of its report {} ms after its end; removing container {} anyway", spec.taskId(),
            REPORT_WAIT_MS, shortId()))
        .compose(v -> removeContainer())
        .onComplete(ar -> removed.tryComplete());
  }

  /** The task's terminal report was handed on (see {@code TaskBackend.reported}): removal, once due, starts now. */
  void reported() {
    reportHandedOn.tryComplete();
  }

  /** Completes once the container is gone (or its removal failed and was logged, or it was left), after the outcome. */
  Future<Void> removed() {
    return removed.future();
  }

  /**
   * Follows an adopted container to its end, as {@link #run()} does from the start: its output from the first byte
   * (so positions match what the earlier process sent), its exit code, then removal. A container that was created but
   * never started is started now.
   *
   * An orphan (see {@link #orphaned}) is stopped instead and reported failed.
   */
  Future<TaskOutcome> follow() {
    boolean running = started;
    Future<Void> ready = neverStarted && orphanCause == null ? start() : Future.succeededFuture();
    return ready
        .compose(v -> {
          if (orphanCause != null && running) {
            log.warn("Stopping container {} of task {}: {}", shortId(), spec.taskId(), orphanCause);
            signal("SIGTERM");
            scheduleKill();
          }
          return neverStarted && orphanCause != null ? classify(0L) : toOutcome();
        })
        .recover(this::failureOutcome)
        .onComplete(ar -> removeAfterReport());
  }

  /** This worker does not continue the adopted task: it is stopped and reported failed with {@code cause}. */
  ContainerRun orphaned(String cause) {
    orphanCause = cause;
    return this;
  }

  /** A setup phase ended; one cut short by a cancellation is neither a success nor a failure, so not reported. */
  private void phase(String name, Instant started, boolean failed) {
    if (cancelReason == null) {
      output.setupEvent(new SetupEvent(name, started, Instant.now(), failed));
    }
  }

  /**
   * Follows the running container to its exit and classifies it. A non-zero exit or a broken wait may be the engine
   * going away (it stops its containers as it stops, and ends every stream): that is settled by asking the engine.
   */
  private Future<TaskOutcome> toOutcome() {
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
              return toOutcome();
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
    Map<String, String> labels = ContainerAdoption.labels(spec, rt.workerId());
    log.debug("Creating Docker container with image={} for task {}", spec.image(), spec.taskId());
    return rt.blocking().phase(FailureReason.CONTAINER_CREATE, "failed to create container", () -> {
      CreateContainerCmd cmd = rt.docker().createContainerCmd(spec.image())
          .withCmd(spec.command())
          .withEnv(spec.env())
          .withWorkingDir(spec.workingDir())
          .withLabels(labels)
          .withHostConfig(host);
      String id = cmd.exec().getId();
      if (output.labelsOrigins()) { // the name is only a label of shipped output: no round trip otherwise
        try {
          containerName = rt.docker().inspectContainerCmd(id).exec().getName().replaceFirst("^/", "");
        } catch (RuntimeException e) {
          containerName = null;
        }
      }
      return id;
    }).onSuccess(id -> {
      containerId = id;
      log.atInfo().addKeyValue("task_id", spec.taskId()).log("Created container {} for task {}", shortId(), spec.taskId());
    });
  }

  private Future<Void> start() {
    if (cancelReason != null) {
      return Future.failedFuture(new Cancelled());
    }
    if (exitEvent == null) {
      exitEvent = rt.exits().expect(containerId); // a container that exits at once may die before start returns
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

  /**
   * Follows the output (when wanted) and learns the exit code, all as non-blocking engine calls: from the engine's
   * {@code die} event or the container's wait, whichever comes first (the same code either way).
   */
  private Future<Long> runToExit() {
    LogFollower follow = null;
    if (output.wantsOutput() && !outputEnded) {
      // after an engine outage: read again, skipping what was delivered
      follow = follower == null ? new LogFollower(output.from(OutputOrigin.container(containerName))) : follower.continuation();
      follower = follow.start(rt.streams(), containerId, true);
    }
    Promise<Long> exitCode = Promise.promise();
    exit = exitCode;
    Future<Long> announced = exitEvent != null ? exitEvent : rt.exits().expect(containerId);
    exitEvent = null; // followed again after an outage: a new die event
    announced.onSuccess(exitCode::tryComplete);
    rt.streams().waitExit(containerId).onComplete(ar -> {
      if (ar.succeeded()) {
        exitCode.tryComplete(ar.result());
      } else {
        exitCode.tryFail(ar.cause());
      }
    });
    LogFollower following = follow;
    return exitCode.future()
        .andThen(ar -> {
          rt.exits().forget(containerId);
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
   * Delivers the rest of the output once the exit is known. The engine announces an exit (die event, wait) only after
   * the container's output is all in its log, so a non-follow read from where the follow stream is gets everything:
   * for up to {@link #FULL_CATCH_UP_LIMIT_BYTES} of output the follow stream is closed at once and that read delivers
   * the rest. Waiting for the follow stream's end would not do: on Docker 20.10 it can miss the last output (see
   * {@link LogFollower}), and one started after the exit ends only when the engine has cleaned up the container,
   * which is also when that engine answers the read (it holds the container's lock until then). A follow stream that
   * delivered more is read to its end (give up after a bound; re-reading a large log costs more than waiting), then
   * the log's tail is checked for what it missed.
   */
  private Future<Void> drainOutput(LogFollower follower) {
    if (follower == null) {
      endOutput();
      return Future.succeededFuture();
    }
    Future<Void> followed;
    if (follower.catchUpUseful() && follower.bytesRead() <= FULL_CATCH_UP_LIMIT_BYTES) {
      follower.abandon(); // the catch-up below re-reads exactly from where it stopped
      followed = Future.succeededFuture();
    } else {
      followed = awaitEnd(follower.done(), follower::abandon, follower::bytesRead);
    }
    return followed
        .compose(v -> {
          if (!follower.catchUpUseful()) {
            return Future.succeededFuture();
          }
          if (follower.bytesRead() <= FULL_CATCH_UP_LIMIT_BYTES || follower.cutShort()) {
            return exactCatchUp(follower, 1);
          }
          TailCatchUp catchUp = new TailCatchUp(follower).start(rt.streams(), containerId);
          return awaitEnd(catchUp.done(), catchUp::close, () -> 0).andThen(ar -> {
            if (catchUp.failure() != null) {
              warnOutputMayLackItsEnd(catchUp.failure(), 1);
            }
          });
        })
        .onComplete(ar -> endOutput());
  }

  /**
   * Re-reads the log, skipping what was delivered; a read that fails (the engine's connection broke) is tried again
   * from where it stopped, up to {@value #CATCH_UP_ATTEMPTS} times: what it would deliver is otherwise lost. Not
   * when the engine says the container is gone: no read can succeed then.
   */
  private Future<Void> exactCatchUp(LogFollower delivered, int attempt) {
    LogFollower catchUp = delivered.continuation().start(rt.streams(), containerId, false);
    return awaitEnd(catchUp.done(), catchUp::abandon, catchUp::bytesRead).compose(v -> {
      Throwable failed = catchUp.failure();
      if (failed == null) {
        return Future.succeededFuture();
      }
      if (attempt < CATCH_UP_ATTEMPTS && !EngineRefusal.containerGone(failed)) {
        log.debug("Task {}: reading the log after the exit failed ({}); reading again", spec.taskId(), failed.toString());
        return exactCatchUp(catchUp, attempt + 1);
      }
      warnOutputMayLackItsEnd(failed, attempt);
      return Future.succeededFuture();
    });
  }

  private void warnOutputMayLackItsEnd(Throwable failed, int tries) {
    String what = EngineRefusal.containerGone(failed) ? "the container was removed before its log was read to the end"
        : "the end of the container's log could not be read after the exit";
    String why = DockerEngine.rootMessage(failed) + (tries > 1 ? ", " + tries + " tries" : "");
    log.warn("Task {}: {} ({}); the task's output may lack its last lines", spec.taskId(), what, why);
  }

  private void endOutput() {
    if (!outputEnded) {
      outputEnded = true;
      output.end();
    }
  }

  /**
   * Waits for a read of the output to end; gives up once it has delivered nothing for {@link #LOG_DRAIN_TIMEOUT_MS}
   * (a busy engine still sending a large log after the exit is not cut off: that would lose output silently).
   */
  private Future<Void> awaitEnd(Future<Void> done, Runnable giveUp, LongSupplier progress) {
    Promise<Void> ended = Promise.promise();
    done.onComplete(ar -> ended.tryComplete());
    long[] seen = {progress.getAsLong()};
    long timer = rt.vertx().setPeriodic(LOG_DRAIN_TIMEOUT_MS, id -> {
      long now = progress.getAsLong();
      if (now != seen[0]) {
        seen[0] = now; // still delivering
        return;
      }
      rt.vertx().cancelTimer(id);
      log.warn("Task {}: output stream delivered nothing for {} ms after the container exited; closing it",
          spec.taskId(), LOG_DRAIN_TIMEOUT_MS);
      giveUp.run();
      ended.tryComplete();
    });
    return ended.future().andThen(ar -> rt.vertx().cancelTimer(timer));
  }

  private Future<TaskOutcome> classify(long code) {
    log.debug("Container {} of task {} exited with status code {}", shortId(), spec.taskId(), code);
    if (detached) {
      return Future.failedFuture(new Detached());
    }
    if (orphanCause != null) {
      return Future.succeededFuture(TaskOutcome.failed(FailureReason.GRACEFUL_SHUTDOWN, orphanCause, (int) code));
    }
    if (cancelReason != null) {
      return Future.succeededFuture(new TaskOutcome(TaskOutcome.Status.CANCELLED, "cancelled",
          cancelReason == CancelReason.SHUTDOWN ? FailureReason.GRACEFUL_SHUTDOWN : FailureReason.TASK_CANCELLED, (int) code));
    }
    if (code == 0) {
      log.info("Task {} execution completed successfully", spec.taskId());
      return Future.succeededFuture(TaskOutcome.succeeded());
    }
    logLastLines();
    return rt.blocking().run(() -> {
      InspectContainerResponse inspect = rt.docker().inspectContainerCmd(containerId).exec();
      boolean oom = Boolean.TRUE.equals(inspect.getState().getOOMKilled());
      return TaskOutcome.failed(oom ? FailureReason.CONTAINER_OOM : FailureReason.CONTAINER_EXIT,
          "container exited with non-zero status: " + code + (oom ? " (out of memory)" : ""), (int) code);
    }).recover(err -> Future.succeededFuture(TaskOutcome.failed(FailureReason.CONTAINER_EXIT,
        "container exited with non-zero status: " + code, (int) code)));
  }

  /** The container's last lines go to the worker log, secrets redacted (read alongside the inspect). */
  private void logLastLines() {
    StringBuilder text = new StringBuilder();
    EngineStreams.LogStream tail = rt.streams().logs(containerId, false, LAST_LINES,
        (stream, bytes, offset, length) -> text.append(new String(bytes, offset, length, StandardCharsets.UTF_8)));
    Deadline.atMost(rt.vertx(), tail.done(), LOG_DRAIN_TIMEOUT_MS, tail::close);
    tail.done().onComplete(ar -> {
      if (ar.failed()) {
        log.warn("Failed to get container logs of task {}: {}{}", spec.taskId(),
            EngineRefusal.containerGone(ar.cause()) ? "the container was removed; " : "", ar.cause().getMessage());
        return;
      }
      List<String> secrets = new ArrayList<>(spec.secrets());
      secrets.addAll(rt.workerSecrets());
      log.atInfo().addKeyValue("task_id", spec.taskId())
          .log("Container output of task {} (last {} lines):\n{}", spec.taskId(), LAST_LINES, SecretRedaction.redact(text.toString(), secrets));
    });
  }

  /**
   * A phase failed; when the engine is not answering (one ping), that is the cause the task is reported with: a
   * stopping engine fails calls in many ways (refused, reset, 500 "database not open").
   */
  private Future<TaskOutcome> failureOutcome(Throwable err) {
    if (err instanceof Cancelled || detached) {
      return Future.succeededFuture(phaseFailure(err));
    }
    return rt.health().confirm().map(up -> up ? phaseFailure(err) : engineLost());
  }

  private TaskOutcome phaseFailure(Throwable err) {
    if (detached) {
      // nobody reports it now: the lifecycle left the task to the next worker process
      return TaskOutcome.failed(FailureReason.GRACEFUL_SHUTDOWN, "left running for the next worker process");
    }
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

  /**
   * Stops watching the container and leaves it running (a shutdown that preserves tasks). A run still preparing goes
   * on until its container is created, which it leaves unstarted for the next worker process to start.
   */
  void detach() {
    detached = true;
    if (killTimer >= 0) {
      rt.vertx().cancelTimer(killTimer);
    }
    if (containerId == null) {
      log.warn("Task {} was still preparing its container when the worker shut down: it is left for the next worker"
          + " process only if its container is created before the Docker client closes", spec.taskId());
    } else {
      log.info("Leaving container {} of task {} running for the next worker process", shortId(), spec.taskId());
    }
    if (follower != null) {
      follower.abandon();
    }
    if (exit != null) {
      exit.tryFail(new Detached());
    }
  }

  /** Force-removes the container now (backend shutdown with the task still running). */
  Future<Void> abandon() {
    cancelReason = cancelReason == null ? CancelReason.SHUTDOWN : cancelReason;
    reportHandedOn.tryComplete(); // the lifecycle gave up on it (it reported the task itself): nothing to wait for
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

  /** The run stopped watching because the worker shuts down preserving its tasks. */
  private static final class Detached extends RuntimeException {
    Detached() {
      super("detached", null, false, false);
    }
  }

  /** The run stopped before the container started because the task was cancelled. */
  private static final class Cancelled extends RuntimeException {
    Cancelled() {
      super("cancelled", null, false, false);
    }
  }
}
