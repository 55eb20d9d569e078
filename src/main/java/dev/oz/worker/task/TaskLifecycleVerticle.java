package dev.oz.worker.task;

import dev.oz.worker.backend.AdoptedTask;
import dev.oz.worker.backend.Availability;
import dev.oz.worker.backend.BackendCapabilities;
import dev.oz.worker.backend.CancelReason;
import dev.oz.worker.backend.TaskDescription;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.backend.TaskOutput;
import dev.oz.worker.bus.Addresses;
import dev.oz.worker.bus.Deadline;
import dev.oz.worker.bus.ShutdownCoordinator;
import dev.oz.worker.bus.WorkerBus;
import dev.oz.worker.config.Durations;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.hosted.HostedTask;
import dev.oz.worker.hosted.TaskIdentity;
import dev.oz.worker.logs.OpenTaskLog;
import dev.oz.worker.metrics.TaskTracer;
import dev.oz.worker.metrics.WorkerMetrics;
import dev.oz.worker.protocol.FailureReason;
import dev.oz.worker.protocol.ExecutionClosed;
import dev.oz.worker.protocol.ServerMessage;
import dev.oz.worker.protocol.TaskAssignment;
import dev.oz.worker.protocol.TaskCancellation;
import dev.oz.worker.protocol.TaskClaimed;
import dev.oz.worker.protocol.TaskCompleted;
import dev.oz.worker.protocol.TaskFailed;
import dev.oz.worker.protocol.TaskRejected;
import dev.oz.worker.protocol.WorkerMessage;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The task lifecycle, independent of the backend: takes a slot or rejects, claims, resolves the spec, hands
 * it to the backend, and turns the outcome into the terminal report, after the task's log chunks. Its
 * {@link #stop()} is the graceful shutdown: reject new work, let running tasks finish for the grace period,
 * cancel the rest, and report every one.
 */
public final class TaskLifecycleVerticle extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(TaskLifecycleVerticle.class);
  /** How long after cancelling on shutdown a backend may take before the worker reports the task itself. */
  private static final Duration CANCEL_REPORT_SLACK = Duration.ofSeconds(20);
  private static final int DISPATCHED_REMEMBERED = 4096;
  private static final int CLOSED_REMEMBERED = 4096;

  private final WorkerOptions options;
  private final WorkerBus bus;
  private final WorkerMetrics metrics;
  private final TaskTracer tracer;
  private final ShutdownCoordinator shutdown;
  private final BackendCapabilities capabilities;
  private final TaskDescriptionResolver resolver;
  private final Map<String, Running> active = new LinkedHashMap<>();
  /** Tasks handed to another system: no slot, no report of ours, but a cancellation still goes to the backend. */
  private final Map<String, String> dispatched = new LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
      return size() > DISPATCHED_REMEMBERED;
    }
  };
  /** Executions that ended, by "task id/execution id": a repeated execution-scoped cancellation is answered again. */
  private final Map<String, Boolean> closed = new LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
      return size() > CLOSED_REMEMBERED;
    }
  };
  private final Promise<Void> oneShotDone = Promise.promise();
  private boolean oneShotTaken;
  private boolean shuttingDown;
  /** The backend's last word: while unavailable, new assignments are rejected at once. */
  private Availability availability = Availability.AVAILABLE;
  private Promise<Void> allEnded;
  /** Terminal reports on their way to the outbox, whose backend has not heard of them yet: the drain waits for them. */
  private int handingOn;

  /** A task between its claim and its terminal report. */
  private static final class Running {
    final String taskId;
    final String executionId;
    final String title;
    final Instant startedAt = Instant.now();
    final long startNanos = System.nanoTime();
    final TaskTracer.TaskSpan span;
    CancelReason cancelReason;
    /** The cancellation named this execution: {@code execution_closed} follows the terminal report. */
    boolean closeRequested;
    long deadlineTimer = -1;
    String failurePhase = WorkerMetrics.PHASE_BACKEND;
    boolean reported;
    /** Left behind by an earlier worker process: its end is not the one task of a one-shot worker. */
    boolean adopted;

    Running(String taskId, String executionId, String title, TaskTracer.TaskSpan span) {
      this.taskId = taskId;
      this.executionId = executionId;
      this.title = title;
      this.span = span;
    }
  }

  public TaskLifecycleVerticle(WorkerOptions options, BackendCapabilities capabilities, WorkerBus bus,
      WorkerMetrics metrics, TaskTracer tracer, ShutdownCoordinator shutdown) {
    this.options = options;
    this.capabilities = capabilities;
    this.bus = bus;
    this.metrics = metrics;
    this.tracer = tracer;
    this.shutdown = shutdown;
    this.resolver = new TaskDescriptionResolver(options);
  }

  @Override
  public Future<?> start() {
    bus.<ServerMessage>consumer(Addresses.INBOUND, msg -> onServerMessage(msg.body()));
    bus.<TaskFinished>consumer(Addresses.FINISHED, msg -> onFinished(msg.body()));
    bus.<Object>consumer(Addresses.STATUS, msg -> bus.reply(msg, status()));
    bus.<Availability>consumer(Addresses.BACKEND_AVAILABILITY, msg -> onAvailability(msg.body()));
    metrics.tasksActive(0);
    // a change published before this verticle listened is not lost
    bus.<Availability>request(Addresses.BACKEND_AVAILABILITY_NOW, "now").onSuccess(this::onAvailability);
    return Future.succeededFuture();
  }

  /**
   * Takes over the tasks an earlier process of this worker left behind. Called once the connection verticle is
   * deployed: their claims and output go out through it (a report sent before it listens would be lost).
   */
  public void adoptLeftTasks() {
    context.runOnContext(v -> bus.<AdoptableTasks>requestUntimed(Addresses.ADOPTABLE, "adoptable")
        // listing them may take API retries: not bounded by the bus timeout
        .onSuccess(found -> found.tasks().forEach(this::adopt))
        .onFailure(err -> log.warn("Could not look for tasks left running by an earlier worker process: {}",
            err.getMessage())));
  }

  /**
   * A task an earlier process of this worker left behind: claimed again when it still runs (the control plane learns
   * this worker holds it), followed by the backend, reported once when it ends (at once when it already ended).
   */
  private void adopt(AdoptedTask a) {
    if (active.containsKey(a.taskId()) || shuttingDown) {
      return;
    }
    log.atInfo().addKeyValue("task_id", a.taskId()).log(a.reclaim()
        ? "Adopting task {} left running by an earlier worker process"
        : "Reporting task {} left behind by an earlier worker process", a.taskId());
    Running task = new Running(a.taskId(), a.executionId() == null ? "" : a.executionId(), a.title(),
        tracer.assigned(a.taskId(), a.title()));
    task.adopted = true;
    active.put(a.taskId(), task);
    if (a.reclaim()) {
      report(new TaskClaimed(a.taskId(), task.executionId, options.getWorkerId()));
      task.span.claimed();
    }
    metrics.tasksActive(active.size());
    List<String> secrets = new ArrayList<>(a.secrets());
    secrets.add(options.getApiKey());
    bus.<TaskOutput>request(Addresses.LOG_OPEN, new OpenTaskLog(a.taskId(), a.executionId(), secrets,
            a.outputFromStart(), null))
        .recover(err -> Future.succeededFuture(TaskOutput.DISCARD))
        .onSuccess(output -> {
          bus.send(Addresses.RESUME, new ResumeTask(a, output));
          if (a.reclaim()) {
            startDeadline(task); // counted again from the adoption: the earlier process's start is not known here
          }
        });
  }

  private void onAvailability(Availability now) {
    if (now.available() == availability.available()) {
      availability = now;
      return;
    }
    availability = now;
    metrics.backendAvailable(now.available());
    if (!now.available()) {
      metrics.backendOutage();
      log.warn("Rejecting new assignments while the backend is unavailable ({}); {} running task(s) are watched",
          now.detail(), active.size());
    } else {
      log.info("Backend available again: taking assignments");
    }
  }

  private void onServerMessage(ServerMessage message) {
    if (message instanceof TaskAssignment a) {
      onAssignment(a);
    } else if (message instanceof TaskCancellation c) {
      onCancellation(c);
    }
  }

  /** Completes once a one-shot worker's task has been reported (never for other workers). */
  public Future<Void> oneShotDone() {
    return oneShotDone.future();
  }

  /** The checks of the Go worker, in its order: shutting down, one-shot slot used, no slot; ours: backend unavailable. */
  private void onAssignment(TaskAssignment a) {
    log.atInfo().addKeyValue("task_id", a.taskId()).log("Received task assignment: taskID={}, title={}", a.taskId(), a.task().title());
    Running running = active.get(a.taskId());
    if (running != null && !shuttingDown && !shutdown.stopping()) {
      if (running.executionId.equals(a.executionId())) {
        // not started twice; the claim is repeated in case the first one was lost with a connection
        log.atWarn().addKeyValue("task_id", a.taskId()).log("Task {} is already running: not starting it again", a.taskId());
        report(new TaskClaimed(a.taskId(), a.executionId(), options.getWorkerId()));
      } else {
        // one execution of a task at a time here (backends key their resources by task id)
        reject(a, WorkerMetrics.AT_CAPACITY, "task already running here as execution \"" + running.executionId + "\"");
      }
      return;
    }
    if (shuttingDown || shutdown.stopping()) {
      reject(a, WorkerMetrics.SHUTTING_DOWN, TaskRejected.SHUTTING_DOWN);
      return;
    }
    if (!availability.available()) {
      // never claimed: the control plane can give it to a worker whose backend works
      reject(a, WorkerMetrics.BACKEND_UNAVAILABLE, availability.rejectReason());
      return;
    }
    if (options.isOneShot() && oneShotTaken) {
      reject(a, WorkerMetrics.ONE_SHOT_COMPLETE, TaskRejected.ONE_SHOT_USED);
      return;
    }
    int max = options.isOneShot() ? 1 : options.getMaxConcurrentTasks();
    if (max > 0 && active.size() >= max) {
      reject(a, WorkerMetrics.AT_CAPACITY, TaskRejected.AT_CAPACITY);
      return;
    }
    oneShotTaken = true;
    Running task = new Running(a.taskId(), a.executionId(), a.task().title(), tracer.assigned(a.taskId(), a.task().title()));
    active.put(a.taskId(), task);
    report(new TaskClaimed(a.taskId(), a.executionId(), options.getWorkerId()));
    task.span.claimed();
    metrics.taskClaimed();
    metrics.tasksActive(active.size());

    TaskDescription spec;
    try {
      spec = resolver.resolve(a);
    } catch (RuntimeException e) {
      log.error("Task {}: cannot resolve the assignment", a.taskId(), e);
      task.failurePhase = WorkerMetrics.PHASE_ASSIGNMENT;
      finish(task, TaskOutcome.failed(FailureReason.UNKNOWN, "invalid assignment: " + e.getMessage()));
      return;
    }
    log.atInfo().addKeyValue("task_id", a.taskId()).log("Starting task execution: taskID={}, title={}", a.taskId(), a.task().title());
    bus.<TaskOutput>request(Addresses.LOG_OPEN, new OpenTaskLog(spec.taskId(), spec.executionId(), secretsOf(spec),
            hostedTask(a)))
        .recover(err -> {
          log.warn("Task {}: log streaming unavailable ({}); running without it", spec.taskId(), err.getMessage());
          return Future.succeededFuture(TaskOutput.DISCARD);
        })
        .onSuccess(output -> {
          if (task.cancelReason != null) {
            // cancelled while its log stream was being opened: never start it
            finish(task, TaskOutcome.cancelled());
          } else {
            task.span.started(options.getBackend(), spec.image());
            bus.send(Addresses.EXECUTE, new ExecuteTask(spec, output));
            startDeadline(task);
          }
        });
  }

  /** {@code task_timeout}: a task still running then is stopped like a cancellation and reported as timed out. */
  private void startDeadline(Running task) {
    long ms = options.getTaskTimeout().toMillis();
    if (ms <= 0) {
      return;
    }
    task.deadlineTimer = vertx.setTimer(ms, id -> {
      if (!task.reported && task.cancelReason == null) {
        task.cancelReason = CancelReason.TIMEOUT;
        bus.send(Addresses.CANCEL, new CancelTask(task.taskId, CancelReason.TIMEOUT));
      }
    });
  }

  private void reject(TaskAssignment a, String metricReason, String reason) {
    log.atWarn().addKeyValue("task_id", a.taskId()).log("Rejecting task {}: {}", a.taskId(), reason);
    tracer.assigned(a.taskId(), a.task().title()).rejected(metricReason);
    metrics.taskRejected(metricReason);
    report(new TaskRejected(a.taskId(), reason));
  }

  /** The task towards hosted Oz: its identity and collector, and the Go worker's redaction list for shipped logs. */
  private HostedTask hostedTask(TaskAssignment a) {
    List<String> secrets = new ArrayList<>(a.envVars().values());
    options.getEnvironment().forEach(e -> secrets.add(e.value()));
    if (a.telemetryCollection() != null && a.telemetryCollection().bootstrapToken() != null) {
      secrets.add(a.telemetryCollection().bootstrapToken().token());
    }
    secrets.add(options.getApiKey());
    return new HostedTask(TaskIdentity.of(a.taskId(), a.executionId(), options.getServerRootUrl(), a.envVars()),
        a.telemetryCollection(), secrets);
  }

  private List<String> secretsOf(TaskDescription spec) {
    List<String> secrets = new ArrayList<>(spec.secrets());
    secrets.add(options.getApiKey());
    return secrets;
  }

  /**
   * A cancellation with an execution id stops only that execution and is answered with {@code execution_closed} once
   * it is gone (again, without touching the backend, when it repeats); one without stops whatever runs for the task.
   */
  private void onCancellation(TaskCancellation c) {
    Running task = active.get(c.taskId());
    boolean scoped = !c.executionId().isEmpty();
    if (scoped && task == null && closed.containsKey(c.taskId() + "/" + c.executionId())) {
      report(new ExecutionClosed(c.taskId(), c.executionId()));
      return;
    }
    if (scoped && task != null && !task.executionId.equals(c.executionId())) {
      log.atInfo().addKeyValue("task_id", c.taskId()).log("Ignoring cancellation of execution {} of task {}: running {}",
          c.executionId(), c.taskId(), task.executionId.isEmpty() ? "one without an execution id" : task.executionId);
      return;
    }
    // a dispatched task stays active while its log flushes; a cancellation meanwhile is for the dispatched run too
    if ((task == null || task.reported) && dispatched.remove(c.taskId()) != null) {
      // it runs elsewhere now: the backend forwards the cancellation, whoever runs it reports
      log.atInfo().addKeyValue("task_id", c.taskId()).log("Cancelling dispatched task: taskID={}", c.taskId());
      bus.send(Addresses.CANCEL, new CancelTask(c.taskId(), CancelReason.USER));
      return;
    }
    if (task == null) {
      log.warn("Received cancellation for inactive task: taskID={}", c.taskId());
      return;
    }
    task.closeRequested |= scoped;
    if (task.cancelReason != null || task.reported) {
      return;
    }
    log.atInfo().addKeyValue("task_id", c.taskId()).log("Cancelling task from server request: taskID={}", c.taskId());
    task.cancelReason = CancelReason.USER;
    task.span.cancellationRequested("server");
    bus.send(Addresses.CANCEL, new CancelTask(c.taskId(), CancelReason.USER));
  }

  private void onFinished(TaskFinished finished) {
    Running task = active.get(finished.taskId());
    if (task == null || task.reported) {
      log.debug("Outcome for task {} that is no longer active", finished.taskId());
      return;
    }
    finish(task, finished.outcome());
  }

  /**
   * Flushes the task's log stream, then sends its one terminal report and frees the slot; once the report is in the
   * connection's outbox the backend hears of it ({@code REPORTED}: Docker removes the container only then, so the
   * engine's cleanup does not compete with the report). A dispatched task gets no report of ours: the system it was
   * handed to reports it.
   */
  private void finish(Running task, TaskOutcome outcome) {
    task.reported = true;
    vertx.cancelTimer(task.deadlineTimer);
    WorkerMessage terminal = outcome.status() == TaskOutcome.Status.DISPATCHED && task.cancelReason == null
        ? dispatched(task) : terminalReport(task, outcome);
    bus.request(Addresses.LOG_CLOSE, task.taskId)
        .onFailure(err -> log.warn("Task {}: could not flush its log stream: {}", task.taskId, err.getMessage()))
        .onComplete(ar -> {
          handingOn++;
          Future<Void> handedOn = terminal == null ? Future.succeededFuture() : handOn(terminal);
          handedOn.onComplete(sent -> {
            bus.send(Addresses.REPORTED, new TaskReported(task.taskId));
            handingOn--;
            checkAllEnded();
          });
          task.span.end();
          if (!task.executionId.isEmpty()) {
            closed.put(task.taskId + "/" + task.executionId, true);
            if (task.closeRequested) {
              // the backend's execute future completes once the execution's resources are gone
              report(new ExecutionClosed(task.taskId, task.executionId));
            }
          }
          active.remove(task.taskId);
          if (options.isOneShot() && !task.adopted) {
            oneShotDone.tryComplete();
          }
          metrics.tasksActive(active.size());
          checkAllEnded();
        });
  }

  /** During the shutdown: every task reported, and the backend told so (it may still have work for it: removal). */
  private void checkAllEnded() {
    if (allEnded != null && active.isEmpty() && handingOn == 0) {
      allEnded.tryComplete();
    }
  }

  private WorkerMessage dispatched(Running task) {
    log.atInfo().addKeyValue("task_id", task.taskId).log("Task {} dispatched", task.taskId);
    metrics.taskEnded(WorkerMetrics.DISPATCHED, Duration.ofNanos(System.nanoTime() - task.startNanos));
    dispatched.put(task.taskId, task.taskId);
    return null;
  }

  private WorkerMessage terminalReport(Running task, TaskOutcome outcome) {
    Duration took = Duration.ofNanos(System.nanoTime() - task.startNanos);
    if (outcome.status() == TaskOutcome.Status.SUCCEEDED) {
      log.atInfo().addKeyValue("task_id", task.taskId).log("Task execution completed successfully: taskID={}", task.taskId);
      metrics.taskEnded(WorkerMetrics.SUCCEEDED, took);
      task.span.completed();
      return TaskCompleted.success(task.taskId, task.executionId);
    }
    if (task.cancelReason == CancelReason.SHUTDOWN) {
      log.atWarn().addKeyValue("task_id", task.taskId).log("Task {} stopped by worker shutdown", task.taskId);
      metrics.taskEnded(WorkerMetrics.FAILED, took);
      metrics.taskFailure(task.failurePhase, FailureReason.GRACEFUL_SHUTDOWN.wireName());
      String cause = "the worker shut down while the task was running";
      task.span.failed(task.failurePhase, FailureReason.GRACEFUL_SHUTDOWN.wireName(), cause);
      return new TaskFailed(task.taskId, task.executionId, TaskFailed.MESSAGE_PREFIX + cause,
          FailureReason.GRACEFUL_SHUTDOWN.wireName(), outcome.exitCode(), null);
    }
    if (task.cancelReason == CancelReason.TIMEOUT) {
      String limit = Durations.format(options.getTaskTimeout());
      log.atWarn().addKeyValue("task_id", task.taskId).log("Task {} stopped: it ran longer than task_timeout {}",
          task.taskId, limit);
      metrics.taskEnded(WorkerMetrics.FAILED, took);
      metrics.taskFailure(task.failurePhase, FailureReason.TASK_TIMEOUT.wireName());
      String cause = "the task ran longer than its time limit (task_timeout " + limit + ") and was stopped";
      task.span.failed(task.failurePhase, FailureReason.TASK_TIMEOUT.wireName(), cause);
      return new TaskFailed(task.taskId, task.executionId, TaskFailed.MESSAGE_PREFIX + cause,
          FailureReason.TASK_TIMEOUT.wireName(), outcome.exitCode(), null);
    }
    if (task.cancelReason == CancelReason.USER || outcome.status() == TaskOutcome.Status.CANCELLED) {
      log.atInfo().addKeyValue("task_id", task.taskId).log("Task execution cancelled by user request: taskID={}", task.taskId);
      metrics.taskEnded(WorkerMetrics.CANCELLED, took);
      task.span.cancelled();
      return TaskCompleted.cancelled(task.taskId, task.executionId);
    }
    FailureReason reason = outcome.reason() == null ? FailureReason.UNKNOWN : outcome.reason();
    log.atError().addKeyValue("task_id", task.taskId)
        .log("Task execution failed: taskID={}, reason={}, error={}", task.taskId, reason.wireName(), outcome.cause());
    metrics.taskEnded(WorkerMetrics.FAILED, took);
    metrics.taskFailure(task.failurePhase, reason.wireName());
    task.span.failed(task.failurePhase, reason.wireName(), outcome.cause());
    return new TaskFailed(task.taskId, task.executionId, TaskFailed.MESSAGE_PREFIX + outcome.cause(),
        reason.wireName(), outcome.exitCode(), failureDetails(outcome));
  }

  /** The backend's diagnostics (e.g. {@code {"kubernetes": {...}}}) as the report's {@code failure_details}. */
  private static com.fasterxml.jackson.databind.node.ObjectNode failureDetails(TaskOutcome outcome) {
    return outcome.failureDetails() == null ? null
        : (com.fasterxml.jackson.databind.node.ObjectNode) io.vertx.core.json.jackson.DatabindCodec.mapper()
            .valueToTree(outcome.failureDetails().getMap());
  }

  private void report(WorkerMessage message) {
    bus.send(Addresses.OUTBOUND, message);
  }

  /** Sends a terminal report; completes once it is in the connection's outbox, or could not be put there. */
  private Future<Void> handOn(WorkerMessage terminal) {
    return bus.request(Addresses.OUTBOUND, terminal).<Void>mapEmpty()
        .onFailure(err -> log.warn("Task {}: its {} could not be queued for the control plane: {}", terminal.taskId(),
            terminal.type(), err.getMessage()));
  }

  private WorkerStatus status() {
    List<WorkerStatus.ActiveTask> tasks = active.values().stream()
        // /status says null, not "", for an assignment without an execution id
        .map(t -> new WorkerStatus.ActiveTask(t.taskId, t.executionId.isEmpty() ? null : t.executionId, t.title, t.startedAt))
        .toList();
    return new WorkerStatus(tasks, options.getMaxConcurrentTasks(), shuttingDown);
  }

  /** Graceful shutdown; see the class comment. Never loses a terminal report. */
  @Override
  public Future<?> stop() {
    shuttingDown = true;
    allEnded = Promise.promise();
    checkAllEnded();
    Duration grace = options.getShutdownGracePeriod();
    if (!active.isEmpty()) {
      log.info("Shutting down: {} task(s) running{}", active.size(),
          grace.isZero() ? "" : ", waiting up to " + grace.toSeconds() + "s for them to finish");
    }
    Promise<Void> graceOver = Promise.promise();
    long timer = vertx.setTimer(Math.max(1, grace.toMillis()), id -> graceOver.tryComplete());
    shutdown.graceSkipped(context).onComplete(ar -> graceOver.tryComplete());
    allEnded.future().onComplete(ar -> graceOver.tryComplete());
    return graceOver.future()
        .compose(v -> {
          vertx.cancelTimer(timer);
          return cancelRemaining();
        })
        .onComplete(ar -> shutdown.markDrained())
        // stay to answer late assignments ("worker is shutting down") until the connection has closed
        .transform(ar -> Deadline.atMost(vertx, shutdown.connectionClosed(context),
            options.getConnection().getCloseTimeout().plusSeconds(5).toMillis(), () -> { }));
  }

  private Future<Void> cancelRemaining() {
    List<Running> remaining = active.values().stream().filter(t -> !t.reported).toList();
    if (remaining.isEmpty()) {
      return allEnded.future();
    }
    if (capabilities.preservesTasksOnShutdown()) {
      // they outlive this worker (Kubernetes Jobs, preserved containers): nothing to cancel, nothing to report now;
      // the next worker process adopts and reports them, so an outcome the backend still delivers is ignored
      log.info("Leaving {} running task(s) to the backend, which preserves them across a worker shutdown",
          remaining.size());
      remaining.forEach(t -> t.reported = true);
      return Future.succeededFuture();
    }
    log.info("Cancelling {} active task(s)", remaining.size());
    for (Running t : remaining) {
      if (t.cancelReason == null) {
        t.cancelReason = CancelReason.SHUTDOWN;
        t.span.cancellationRequested("signal");
      }
      bus.send(Addresses.CANCEL, new CancelTask(t.taskId, CancelReason.SHUTDOWN));
    }
    long slack = capabilities.cancelTimeout().plus(CANCEL_REPORT_SLACK).toMillis();
    long timer = vertx.setTimer(slack, id -> {
      for (Running t : List.copyOf(active.values())) {
        if (!t.reported) {
          log.error("Task {}: backend did not confirm cancellation in time; reporting it as stopped", t.taskId);
          finish(t, TaskOutcome.failed(FailureReason.GRACEFUL_SHUTDOWN, "worker shutting down"));
        }
      }
    });
    return allEnded.future().onComplete(ar -> vertx.cancelTimer(timer));
  }
}
