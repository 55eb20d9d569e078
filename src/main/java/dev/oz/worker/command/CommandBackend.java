package dev.oz.worker.command;

import dev.oz.worker.backend.BackendContext;
import dev.oz.worker.backend.CancelReason;
import dev.oz.worker.backend.StdStream;
import dev.oz.worker.backend.TaskBackend;
import dev.oz.worker.backend.TaskDescription;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.backend.TaskOutput;
import dev.oz.worker.bus.Deadline;
import dev.oz.worker.config.EnvEntry;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.logs.SecretRedaction;
import dev.oz.worker.process.Executables;
import dev.oz.worker.process.LocalProcess;
import dev.oz.worker.process.LocalProcesses;
import dev.oz.worker.protocol.FailureReason;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands each task to an operator's runtime (BACKENDS.md section 3): {@code dispatch_command} runs (with
 * {@code command.shell -c}, or as a program and its arguments when no shell is set), the task's JSON payload on
 * stdin; exit 0 means the task was handed off, and whatever runs it reports to the control plane itself.
 * {@code cancel_command} is run for a cancellation. Their output goes to the task's log stream and, bounded and
 * redacted, to the worker log. State is touched on the backend's context only.
 */
final class CommandBackend implements TaskBackend {
  private static final Logger log = LoggerFactory.getLogger(CommandBackend.class);
  static final String BACKEND = "command";
  private static final int CAPTURE_HALF_BYTES = 8 * 1024;
  private static final int REMEMBERED = 4096;
  /** How long a worker shutdown waits for dispatches and cancels in flight (the Go worker's backend bound). */
  private static final long SHUTDOWN_WAIT_MS = 10_000;

  private final Vertx vertx;
  private final WorkerOptions worker;
  private final CommandOptions settings;
  private final Map<String, String> hostEnv;
  private final Map<String, Dispatch> dispatching = new HashMap<>();
  private final Map<String, CancelReason> earlyCancels = new HashMap<>();
  /** Execution ids of tasks handed off, for their cancel command. */
  private final Map<String, String> dispatched = new LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
      return size() > REMEMBERED;
    }
  };
  private final Set<LocalProcess> cancelsRunning = new HashSet<>();
  private LocalProcesses processes;

  /** One dispatch command in flight. */
  private static final class Dispatch {
    final String executionId;
    LocalProcess process;
    CancelReason cancelled;
    boolean timedOut;
    Future<TaskOutcome> outcome;

    Dispatch(String executionId) {
      this.executionId = executionId;
    }
  }

  CommandBackend(BackendContext<CommandOptions> context) {
    this.vertx = context.vertx();
    this.worker = context.worker();
    this.settings = context.options();
    this.hostEnv = context.hostEnv();
  }

  @Override
  public Future<Void> start() {
    return vertx.executeBlocking(() -> {
      processes = LocalProcesses.create(vertx, hostEnv);
      String missing = missingProgram();
      if (missing != null) {
        log.warn("Using command backend, but {}", missing);
      } else {
        log.info("Using command backend");
      }
      return null;
    }, false);
  }

  /** Blocking: why the shell or a configured command's program cannot be found, or null. */
  private String missingProgram() {
    if (settings.getShell() != null && !executable(settings.getShell())) {
      return "command.shell, \"" + settings.getShell() + "\", is not an executable found on PATH";
    }
    for (Map.Entry<String, String> c : Map.of("dispatch_command", settings.getDispatchCommand(),
        "cancel_command", settings.getCancelCommand() == null ? "" : settings.getCancelCommand()).entrySet()) {
      String program = c.getValue().isEmpty() ? null
          : settings.getShell() != null ? ShellWords.firstProgram(c.getValue()) : ShellWords.split(c.getValue()).get(0);
      if (program != null && !executable(program)) {
        return "the program of command." + c.getKey() + ", \"" + program + "\", is not an executable found on PATH";
      }
    }
    return null;
  }

  private boolean executable(String program) {
    return Executables.find(program, hostEnv.get("PATH"), List.of()) != null;
  }

  @Override
  public Future<TaskOutcome> execute(TaskDescription task, TaskOutput output) {
    String taskId = task.taskId();
    Dispatch d = new Dispatch(task.executionId() == null ? "" : task.executionId());
    CancelReason early = earlyCancels.remove(taskId);
    if (early != null) {
      output.end();
      return Future.succeededFuture(TaskOutcome.cancelled());
    }
    dispatching.put(taskId, d);
    Map<String, String> env = commandEnv(Map.of(
        "OZ_RUN_ID", taskId,
        "OZ_EXECUTION_ID", d.executionId,
        "OZ_WORKER_BACKEND", BACKEND,
        "OZ_SERVER_ROOT_URL", nullToEmpty(worker.getServerRootUrl()),
        "OZ_DOCKER_IMAGE", DispatchPayload.dockerImage(task)));
    output.addSecrets(settings.getEnvironment().stream().map(EnvEntry::value).toList());
    byte[] payload = DispatchPayload.encode(task, worker.getServerRootUrl(), worker.getWorkerId());
    OutputCapture out = new OutputCapture(CAPTURE_HALF_BYTES);
    OutputCapture err = new OutputCapture(CAPTURE_HALF_BYTES);
    log.atInfo().addKeyValue("task_id", taskId).log("Dispatching task {} via command backend", taskId);
    d.outcome = processes.start(settings.dispatchArgv(), env, null, payload, false,
            (stream, bytes, length) -> {
              output.write(stream, bytes, 0, length);
              (stream == StdStream.STDOUT ? out : err).add(bytes, length);
            })
        .compose(p -> {
          d.process = p;
          if (d.cancelled != null) {
            p.kill();
          }
          long timer = vertx.setTimer(settings.getDispatchTimeout().toMillis(), id -> {
            d.timedOut = true;
            p.kill();
          });
          return p.ended().onComplete(ar -> vertx.cancelTimer(timer));
        })
        .map(code -> classify(taskId, d, code))
        .recover(e -> Future.succeededFuture(TaskOutcome.failed(FailureReason.DISPATCH_COMMAND,
            "dispatch command failed: " + e.getMessage())))
        .onComplete(ar -> {
          dispatching.remove(taskId);
          logOutput("Dispatch command", taskId, out, err, secrets(task));
          output.end();
        });
    return d.outcome;
  }

  private TaskOutcome classify(String taskId, Dispatch d, int code) {
    if (d.cancelled != null) {
      return TaskOutcome.cancelled();
    }
    if (d.timedOut) {
      return TaskOutcome.failed(FailureReason.DISPATCH_TIMEOUT, "dispatch command timed out after "
          + GoDuration.format(settings.getDispatchTimeout()) + ": signal: killed");
    }
    if (code != 0) {
      return TaskOutcome.failed(FailureReason.DISPATCH_COMMAND, "dispatch command failed: exit status " + code);
    }
    dispatched.put(taskId, d.executionId);
    log.atInfo().addKeyValue("task_id", taskId).log("Task {} dispatched successfully", taskId);
    return TaskOutcome.dispatched();
  }

  /**
   * Stops a dispatch in flight, and runs {@code cancel_command} for a control-plane cancellation (also of a task
   * already handed off); fails when the cancel command does.
   */
  @Override
  public Future<Void> cancel(String taskId, CancelReason reason) {
    Dispatch d = dispatching.get(taskId);
    String executionId;
    if (d != null) {
      d.cancelled = reason;
      if (d.process != null) {
        d.process.kill();
      }
      executionId = d.executionId;
    } else if (dispatched.containsKey(taskId)) {
      executionId = dispatched.remove(taskId);
    } else {
      // the cancel overtook the execute request: apply it when that arrives
      earlyCancels.put(taskId, reason);
      executionId = "";
    }
    if (settings.getCancelCommand() == null || reason != CancelReason.USER) {
      return Future.succeededFuture();
    }
    return runCancelCommand(taskId, executionId);
  }

  private Future<Void> runCancelCommand(String taskId, String executionId) {
    Map<String, String> env = commandEnv(Map.of(
        "OZ_RUN_ID", taskId,
        "OZ_EXECUTION_ID", executionId,
        "OZ_WORKER_BACKEND", BACKEND));
    OutputCapture out = new OutputCapture(CAPTURE_HALF_BYTES);
    OutputCapture err = new OutputCapture(CAPTURE_HALF_BYTES);
    boolean[] timedOut = {false};
    log.atInfo().addKeyValue("task_id", taskId).log("Cancelling dispatched task {} via command backend", taskId);
    return processes.start(settings.cancelArgv(), env, null, null, false,
            (stream, bytes, length) -> (stream == StdStream.STDOUT ? out : err).add(bytes, length))
        .compose(p -> {
          cancelsRunning.add(p);
          long timer = vertx.setTimer(settings.getCancelTimeout().toMillis(), id -> {
            timedOut[0] = true;
            p.kill();
          });
          return p.ended().onComplete(ar -> {
            vertx.cancelTimer(timer);
            cancelsRunning.remove(p);
          });
        })
        .recover(e -> Future.failedFuture("cancel command failed: " + e.getMessage()))
        .compose(code -> {
          logOutput("Cancel command", taskId, out, err, secrets(null));
          if (timedOut[0]) {
            return Future.failedFuture("cancel command failed: timed out after "
                + GoDuration.format(settings.getCancelTimeout()) + ": signal: killed");
          }
          return code == 0 ? Future.<Void>succeededFuture()
              : Future.failedFuture("cancel command failed: exit status " + code);
        });
  }

  /**
   * The worker's environment, the operator's ({@code command.environment}, then {@code -e}), then the worker-owned
   * {@code OZ_*} variables and their {@code WARP_*} aliases, which nothing configured can replace. The task's
   * environment is not here: it travels only in the payload.
   */
  private Map<String, String> commandEnv(Map<String, String> ozVars) {
    Map<String, String> env = new HashMap<>(hostEnv);
    for (EnvEntry e : settings.getEnvironment()) {
      env.put(e.name(), e.value());
    }
    for (EnvEntry e : worker.getEnvironment()) {
      env.put(e.name(), e.value());
    }
    env.putAll(ozVars);
    ozVars.forEach((k, v) -> env.put("WARP_" + k.substring("OZ_".length()), v));
    return env;
  }

  private List<String> secrets(TaskDescription task) {
    List<String> secrets = new ArrayList<>();
    if (task != null) {
      secrets.addAll(task.secrets());
    }
    secrets.add(worker.getApiKey());
    settings.getEnvironment().forEach(e -> secrets.add(e.value()));
    worker.getEnvironment().forEach(e -> secrets.add(e.value()));
    return secrets.stream().filter(s -> s != null && s.length() >= TaskDescription.MIN_SECRET_LENGTH).toList();
  }

  private static void logOutput(String what, String taskId, OutputCapture out, OutputCapture err, List<String> secrets) {
    for (Map.Entry<String, OutputCapture> s : Map.of("stdout", out, "stderr", err).entrySet()) {
      String text = s.getValue().text();
      if (!text.isEmpty()) {
        log.atInfo().addKeyValue("task_id", taskId).log("{} of task {} ({}):\n{}", what, taskId, s.getKey(),
            SecretRedaction.redact(text.endsWith("\n") ? text.substring(0, text.length() - 1) : text, secrets));
      }
    }
  }

  /** Ready when the programs the commands start can be found. */
  @Override
  public Future<Void> checkHealth() {
    return vertx.executeBlocking(() -> {
      String missing = missingProgram();
      if (missing != null) {
        throw new IllegalStateException(missing);
      }
      return null;
    }, false);
  }

  /** Dispatches and cancels in flight may finish (bounded); what is still running then is killed. */
  @Override
  public Future<Void> shutdown() {
    List<Future<?>> inFlight = new ArrayList<>();
    dispatching.values().forEach(d -> inFlight.add(d.outcome));
    cancelsRunning.forEach(p -> inFlight.add(p.ended()));
    if (!inFlight.isEmpty()) {
      log.info("Waiting up to {} for {} dispatch/cancel command(s) to finish", GoDuration.format(
          Duration.ofMillis(SHUTDOWN_WAIT_MS)), inFlight.size());
    }
    return Deadline.atMost(vertx, Future.join(inFlight), SHUTDOWN_WAIT_MS, () -> {
      dispatching.values().forEach(d -> {
        if (d.process != null) {
          d.process.kill();
        }
      });
      cancelsRunning.forEach(LocalProcess::kill);
    }).eventually(() -> {
      if (processes != null) {
        processes.close();
      }
      return Future.succeededFuture();
    });
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }
}
