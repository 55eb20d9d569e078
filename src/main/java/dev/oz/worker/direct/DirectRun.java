package dev.oz.worker.direct;

import dev.oz.worker.backend.CancelReason;
import dev.oz.worker.backend.MetadataEnv;
import dev.oz.worker.backend.OutputOrigin;
import dev.oz.worker.backend.SetupEvent;
import dev.oz.worker.backend.StdStream;
import dev.oz.worker.backend.TaskDescription;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.backend.TaskOutput;
import dev.oz.worker.config.Durations;
import dev.oz.worker.config.EnvEntry;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.logs.SecretRedaction;
import dev.oz.worker.process.LocalProcess;
import dev.oz.worker.process.LocalProcesses;
import dev.oz.worker.protocol.FailureReason;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One task as local processes, in the Go worker's order: workspace, environment file, setup command, the agent,
 * then (always) the teardown command and cleanup. State is touched on the backend's context only.
 */
final class DirectRun {
  private static final Logger log = LoggerFactory.getLogger(DirectRun.class);
  static final String BACKEND = "direct";
  /** The host variables the agent inherits; the worker's own credentials are deliberately not among them. */
  static final List<String> INHERITED = List.of("HOME", "TMPDIR", "PATH");
  /** Harness type to the variable that points its state into the workspace, and the directory there. */
  static final Map<String, String[]> HARNESS_DIRS = Map.of(
      "claude", new String[] {"CLAUDE_CONFIG_DIR", ".claude"},
      "codex", new String[] {"CODEX_HOME", ".codex"});
  private static final int TAIL_BYTES = 8 * 1024;

  private final Vertx vertx;
  private final WorkerOptions worker;
  private final DirectOptions settings;
  private final Map<String, String> hostEnv;
  private final LocalProcesses processes;
  private final Path ozPath;
  private final Path workDir;
  private final TaskDescription task;
  private final TaskOutput output;
  private final boolean sharedDir;
  private final OutputTail tail = new OutputTail(TAIL_BYTES);
  private final List<String> secrets = new ArrayList<>();
  private CancelReason cancelReason;
  private boolean abandoned;
  private LocalProcess current;
  private boolean currentIsTeardown;
  private Future<TaskOutcome> result;
  private Path workspace;
  private Path gitConfig;
  private Path gitConfigTempDir;
  private Path envFile;

  /** A step failed: the task fails with this reason. */
  private static final class Failure extends RuntimeException {
    final FailureReason reason;
    final int exitCode;

    Failure(FailureReason reason, String message, int exitCode) {
      super(message, null, false, false);
      this.reason = reason;
      this.exitCode = exitCode;
    }
  }

  /** The task was cancelled; {@code exitCode} is the status of the process the cancel stopped, if any. */
  private static final class Cancelled extends RuntimeException {
    final int exitCode;

    Cancelled(int exitCode) {
      super("cancelled", null, false, false);
      this.exitCode = exitCode;
    }
  }

  DirectRun(Vertx vertx, WorkerOptions worker, DirectOptions settings, Map<String, String> hostEnv,
      LocalProcesses processes, Path ozPath, Path workDir, TaskDescription task, TaskOutput output) {
    this.vertx = vertx;
    this.worker = worker;
    this.settings = settings;
    this.hostEnv = hostEnv;
    this.processes = processes;
    this.ozPath = ozPath;
    this.workDir = workDir;
    this.task = task;
    this.output = output;
    this.sharedDir = settings.getTargetDir() != null;
    secrets.addAll(task.secrets());
    secrets.add(worker.getApiKey());
    worker.getEnvironment().forEach(e -> secrets.add(e.value())); // worker log only, as for every backend's stream
    redactAlso(settings.getEnvironment().stream().map(EnvEntry::value).toList());
  }

  /**
   * Values of the backend's own settings that the task's processes get ({@code direct.environment}, the environment
   * file): neither the streamed output nor the worker log shows them.
   */
  private void redactAlso(Collection<String> values) {
    secrets.addAll(values);
    output.addSecrets(values);
  }

  /** Runs the task once; later calls return the same outcome. Never fails. */
  Future<TaskOutcome> run() {
    if (result == null) {
      result = runOnce();
    }
    return result;
  }

  void cancel(CancelReason reason) {
    if (cancelReason == null) {
      cancelReason = reason;
    }
    if (current != null && !currentIsTeardown) {
      current.terminate(settings.getCancelGracePeriod());
    }
  }

  /** The worker is going away: kill whatever runs now, and skip the teardown command. */
  void abandon() {
    abandoned = true;
    cancel(CancelReason.SHUTDOWN);
    if (current != null) {
      current.kill();
    }
  }

  private Future<TaskOutcome> runOnce() {
    if (!isSafePathComponent(task.taskId())) {
      output.end();
      return Future.succeededFuture(TaskOutcome.failed(FailureReason.WORKSPACE_SETUP,
          "invalid task ID for workspace path: invalid task ID"));
    }
    String conflict = MetadataEnv.conflict(task.env(), configuredNames());
    if (conflict != null) {
      output.end();
      return Future.succeededFuture(TaskOutcome.failed(FailureReason.WORKSPACE_SETUP, conflict));
    }
    return vertx.executeBlocking(this::prepareWorkspace, false)
        .compose(env -> setup(env).map(env))
        .compose(env -> vertx.executeBlocking(() -> withEnvironmentFile(env), false))
        .compose(this::agent)
        .recover(err -> Future.succeededFuture(outcomeOf(err)))
        .compose(outcome -> finish().map(outcome));
  }

  /** Blocking: the workspace, the task's git config and the environment file; returns the task environment. */
  private Map<String, String> prepareWorkspace() {
    if (sharedDir) {
      workspace = workDir;
    } else {
      workspace = workDir.resolve(task.taskId());
      try {
        Files.createDirectories(workspace, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      } catch (IOException | RuntimeException e) {
        throw new Failure(FailureReason.WORKSPACE_SETUP, "failed to create workspace directory: " + e.getMessage(), 0);
      }
      log.atInfo().addKeyValue("task_id", task.taskId()).log("Created workspace: {}", workspace);
    }
    if (sharedDir) {
      // the shared directory is the user's checkout: keep the throwaway global git config out of it
      try {
        gitConfigTempDir = Files.createTempDirectory("oz-gitconfig-");
      } catch (IOException e) {
        throw new Failure(FailureReason.WORKSPACE_SETUP, "failed to create temporary git config directory: "
            + e.getMessage(), 0);
      }
      gitConfig = gitConfigTempDir.resolve(".gitconfig");
    } else {
      gitConfig = workspace.resolve(".gitconfig");
    }
    try {
      envFile = Files.createTempFile(workspace, "oz-env-", "");
    } catch (IOException e) {
      throw new Failure(FailureReason.WORKSPACE_SETUP, "failed to create environment file: " + e.getMessage(), 0);
    }
    return taskEnvironment();
  }

  /**
   * The task's variables (PROTOCOL.md's, then the assignment's), the operator's ({@code direct.environment}, then
   * {@code -e}), the harness's config directory, and the per-task {@code GIT_CONFIG_GLOBAL}; a later entry wins.
   */
  Map<String, String> taskEnvironment() {
    Map<String, String> env = new LinkedHashMap<>();
    task.env().forEach(e -> env.put(e.name(), e.value()));
    for (EnvEntry e : settings.getEnvironment()) {
      env.put(e.name(), e.value());
    }
    for (EnvEntry e : worker.getEnvironment()) {
      env.put(e.name(), e.value());
    }
    String[] harness = task.harness() == null ? null : HARNESS_DIRS.get(task.harness().strip());
    if (harness != null) {
      env.put(harness[0], workspace.resolve(harness[1]).toString());
    }
    env.put("GIT_CONFIG_GLOBAL", gitConfig.toString());
    return env;
  }

  private Future<Void> setup(Map<String, String> taskEnv) {
    if (settings.getSetupCommand() == null) {
      return Future.succeededFuture();
    }
    Map<String, String> env = new LinkedHashMap<>(hostEnv);
    env.putAll(taskEnv);
    putWorkerOwned(env, Map.of(
        "OZ_WORKSPACE_ROOT", workspace.toString(),
        "OZ_WORKER_BACKEND", BACKEND,
        "OZ_RUN_ID", task.taskId(),
        "OZ_ENVIRONMENT_FILE", envFile.toString()));
    java.time.Instant started = java.time.Instant.now();
    return hook("setup", settings.getSetupCommand(), env, settings.getSetupTimeout(), false).andThen(ar -> {
      // a phase cut short by a cancellation is neither a success nor a failure: not reported
      if (cancelReason == null) {
        boolean failed = ar.failed() || ar.result().timedOut || ar.result().code != 0;
        output.setupEvent(new SetupEvent(SetupEvent.SETUP_COMMAND, started, java.time.Instant.now(), failed));
      }
    }).compose(status -> {
      if (status.timedOut) {
        throw new Failure(FailureReason.SETUP_COMMAND, "setup command timed out after "
            + Durations.format(settings.getSetupTimeout()), 0);
      }
      if (status.code != 0) {
        throw new Failure(FailureReason.SETUP_COMMAND, "setup command failed: exit status " + status.code, 0);
      }
      return Future.succeededFuture();
    });
  }

  /** Variable names the operator configured: {@code direct.environment}, {@code -e}, the worker's own environment. */
  private List<String> configuredNames() {
    List<String> names = new ArrayList<>();
    settings.getEnvironment().forEach(e -> names.add(e.name()));
    worker.getEnvironment().forEach(e -> names.add(e.name()));
    names.addAll(hostEnv.keySet());
    return names;
  }

  /** Blocking: what the setup command wrote to the environment file overrides, except {@code GIT_CONFIG_GLOBAL}. */
  private Map<String, String> withEnvironmentFile(Map<String, String> taskEnv) {
    Map<String, String> env = new LinkedHashMap<>(taskEnv);
    try {
      Map<String, String> fromFile = DotEnv.parse(Files.readString(envFile, StandardCharsets.UTF_8));
      for (String name : fromFile.keySet()) {
        if (name.startsWith(MetadataEnv.PREFIX) && task.env().stream().anyMatch(e -> e.name().equals(name))) {
          throw new Failure(FailureReason.SETUP_COMMAND, "setup command may not redefine metadata environment variable "
              + name, 0);
        }
      }
      env.putAll(fromFile);
      redactAlso(fromFile.values());
    } catch (IOException | DotEnv.ParseException e) {
      log.atWarn().addKeyValue("task_id", task.taskId()).log("Failed to parse environment file: {}", e.getMessage());
    }
    env.put("GIT_CONFIG_GLOBAL", gitConfig.toString());
    return env;
  }

  private Future<TaskOutcome> agent(Map<String, String> taskEnv) {
    checkNotCancelled(0);
    Map<String, String> env = new LinkedHashMap<>();
    for (String name : INHERITED) {
      if (hostEnv.containsKey(name)) {
        env.put(name, hostEnv.get(name));
      }
    }
    env.putAll(taskEnv);
    List<String> command = new ArrayList<>();
    command.add(ozPath.toString());
    command.addAll(task.agentArgs());
    log.atInfo().addKeyValue("task_id", task.taskId()).log("Running oz agent in workspace {}", workspace);
    log.debug("Command: {}", String.join(" ", command));
    return processes.start(command, env, workspace, null, true, this::onOutput)
        .recover(err -> Future.failedFuture(new Failure(FailureReason.AGENT_INVOCATION,
            "oz agent exited with error: " + err.getMessage(), 0)))
        .compose(p -> track(p, false).ended())
        .map(code -> {
          current = null;
          checkNotCancelled(code);
          if (code == 0) {
            log.atInfo().addKeyValue("task_id", task.taskId()).log("Task {} execution completed successfully", task.taskId());
            return TaskOutcome.succeeded();
          }
          logTail("oz agent", code);
          throw new Failure(FailureReason.AGENT_INVOCATION, "oz agent exited with error: exit status " + code, code);
        });
  }

  /** The end of every run, whatever happened: teardown command, then the workspace goes (unless kept). */
  private Future<Void> finish() {
    current = null;
    return vertx.executeBlocking(() -> {
      deleteQuietly(envFile);
      return null;
    }, false).compose(v -> teardown()).compose(v -> vertx.executeBlocking(() -> {
      if (!sharedDir && workspace != null) {
        if (worker.isCleanup()) {
          log.atInfo().addKeyValue("task_id", task.taskId()).log("Removing workspace: {}", workspace);
          try {
            Workspaces.deleteTree(workspace);
          } catch (IOException e) {
            log.warn("Failed to remove workspace {}: {}", workspace, e.getMessage());
          }
        } else {
          log.info("Skipping cleanup for workspace: {}", workspace);
        }
      }
      if (gitConfigTempDir != null) {
        try {
          Workspaces.deleteTree(gitConfigTempDir);
        } catch (IOException e) {
          log.warn("Failed to remove temporary git config dir {}: {}", gitConfigTempDir, e.getMessage());
        }
      }
      return null;
    }, false)).<Void>mapEmpty().recover(err -> {
      log.warn("Task {}: cleanup failed: {}", task.taskId(), err.getMessage());
      return Future.succeededFuture();
    }).onComplete(ar -> output.end());
  }

  /** Runs even after a cancel (not after the worker gave up on the task); a failure is only logged. */
  private Future<Void> teardown() {
    if (settings.getTeardownCommand() == null || workspace == null || abandoned) {
      return Future.succeededFuture();
    }
    Map<String, String> env = new LinkedHashMap<>(hostEnv);
    env.put("GIT_CONFIG_GLOBAL", gitConfig.toString());
    putWorkerOwned(env, Map.of(
        "OZ_WORKSPACE_ROOT", workspace.toString(),
        "OZ_WORKER_BACKEND", BACKEND,
        "OZ_RUN_ID", task.taskId()));
    return hook("teardown", settings.getTeardownCommand(), env, settings.getTeardownTimeout(), true)
        .onSuccess(status -> {
          if (status.timedOut) {
            log.warn("Teardown command of task {} timed out after {}", task.taskId(),
                Durations.format(settings.getTeardownTimeout()));
          } else if (status.code != 0) {
            log.warn("Teardown command failed: exit status {}", status.code);
          }
        })
        .<Void>mapEmpty()
        .recover(err -> {
          log.warn("Teardown command failed: {}", err.getMessage());
          return Future.succeededFuture();
        });
  }

  private record HookStatus(int code, boolean timedOut) {
  }

  /** A setup or teardown command: {@code /bin/sh -c}, in the workspace, its output with the task's. */
  private Future<HookStatus> hook(String what, String command, Map<String, String> env, Duration timeout,
      boolean isTeardown) {
    if (!isTeardown) {
      checkNotCancelled(0);
    }
    log.atInfo().addKeyValue("task_id", task.taskId()).log("Running {} command: {}", what, command);
    boolean[] timedOut = {false};
    return processes.start(List.of("/bin/sh", "-c", command), env, workspace, null, true, this::onHookOutput)
        .compose(p -> {
          track(p, isTeardown);
          long timer = timeout.isZero() ? -1 : vertx.setTimer(timeout.toMillis(), id -> {
            timedOut[0] = true;
            p.terminate(settings.getCancelGracePeriod());
          });
          return p.ended().onComplete(ar -> {
            if (timer >= 0) {
              vertx.cancelTimer(timer);
            }
          });
        })
        .map(code -> {
          current = null;
          if (!isTeardown) {
            checkNotCancelled(code);
          }
          if (code != 0) {
            logTail(what + " command", code);
          }
          return new HookStatus(code, timedOut[0]);
        });
  }

  private LocalProcess track(LocalProcess p, boolean isTeardown) {
    current = p;
    currentIsTeardown = isTeardown;
    if (abandoned) {
      p.kill();
    } else if (cancelReason != null && !isTeardown) {
      p.terminate(settings.getCancelGracePeriod());
    }
    return p;
  }

  private void checkNotCancelled(int exitCode) {
    if (cancelReason != null) {
      throw new Cancelled(exitCode);
    }
  }

  private void onOutput(StdStream stream, byte[] bytes, int length) {
    output.write(OutputOrigin.TASK, stream, bytes, 0, length);
    tail.add(bytes, length);
  }

  /** A setup or teardown command's output: with the task's, labelled as a hook's where output is labelled. */
  private void onHookOutput(StdStream stream, byte[] bytes, int length) {
    output.write(OutputOrigin.HOOK, stream, bytes, 0, length);
    tail.add(bytes, length);
  }

  private TaskOutcome outcomeOf(Throwable err) {
    if (err instanceof Cancelled || cancelReason != null) {
      int code = err instanceof Cancelled c ? c.exitCode : 0;
      return new TaskOutcome(TaskOutcome.Status.CANCELLED, "cancelled",
          cancelReason == CancelReason.SHUTDOWN ? FailureReason.GRACEFUL_SHUTDOWN : FailureReason.TASK_CANCELLED, code);
    }
    if (err instanceof Failure f) {
      return TaskOutcome.failed(f.reason, f.getMessage(), f.exitCode);
    }
    log.error("Task {}: unexpected error", task.taskId(), err);
    return TaskOutcome.failed(FailureReason.UNKNOWN, String.valueOf(err.getMessage()));
  }

  /** The last output of a failed command goes to the worker log, secrets redacted. */
  private void logTail(String what, int code) {
    List<String> redact = secrets.stream().filter(s -> s != null && s.length() >= TaskDescription.MIN_SECRET_LENGTH)
        .toList();
    log.atInfo().addKeyValue("task_id", task.taskId()).log("{} of task {} exited with status {}; its last output:\n{}",
        what, task.taskId(), code, SecretRedaction.redact(tail.text(), redact));
  }

  /** Each worker-owned {@code OZ_X} also as {@code WARP_X}, written last so that operator settings cannot replace them. */
  static void putWorkerOwned(Map<String, String> env, Map<String, String> ozVars) {
    env.putAll(ozVars);
    ozVars.forEach((k, v) -> env.put("WARP_" + k.substring("OZ_".length()), v));
  }

  /** As the Go worker: a task id is used as one path component only. */
  static boolean isSafePathComponent(String id) {
    return id != null && !id.isEmpty() && !id.equals(".") && !id.equals("..") && !id.contains("/") && !id.contains("\\");
  }

  private static void deleteQuietly(Path p) {
    if (p == null) {
      return;
    }
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      log.warn("Failed to remove environment file {}: {}", p, e.getMessage());
    }
  }
}
