package dev.oz.worker.direct;

import dev.oz.worker.backend.BackendContext;
import dev.oz.worker.backend.CancelReason;
import dev.oz.worker.backend.TaskBackend;
import dev.oz.worker.backend.TaskDescription;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.backend.TaskOutput;
import dev.oz.worker.bus.Deadline;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.process.Executables;
import dev.oz.worker.process.LocalProcesses;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each task as a local {@code oz} process (BACKENDS.md section 2): a workspace per task, the setup command, the
 * agent with the container contract's argument vector, the teardown command, cleanup. Every command is the leader of
 * a process group of its own, so a cancel (SIGTERM, then SIGKILL after the grace period) reaches all it started.
 */
final class DirectBackend implements TaskBackend {
  private static final Logger log = LoggerFactory.getLogger(DirectBackend.class);
  private static final long SHUTDOWN_WAIT_MS = 15_000;

  private final Vertx vertx;
  private final WorkerOptions worker;
  private final DirectOptions settings;
  private final Map<String, String> hostEnv;
  private final Map<String, DirectRun> running = new HashMap<>();
  private final Map<String, CancelReason> earlyCancels = new HashMap<>();
  private LocalProcesses processes;
  private Path ozPath;
  /** The workspace root, or the target directory when every task shares one. */
  private Path workDir;

  DirectBackend(BackendContext<DirectOptions> context) {
    this.vertx = context.vertx();
    this.worker = context.worker();
    this.settings = context.options();
    this.hostEnv = context.hostEnv();
  }

  /** Finds {@code oz}, makes or checks the workspace root (or target directory): a clear error before any task. */
  @Override
  public Future<Void> start() {
    return vertx.executeBlocking(() -> {
      ozPath = findOz();
      log.info("Using oz CLI at: {}", ozPath);
      if (settings.getTargetDir() != null) {
        workDir = Path.of(settings.getTargetDir()).toAbsolutePath();
        if (!Files.isDirectory(workDir)) {
          throw new IllegalStateException("direct.target_dir " + workDir + " does not exist or is not a directory");
        }
        log.info("Using shared target directory: {} (per-task workspace isolation disabled)", workDir);
      } else {
        workDir = Path.of(settings.getWorkspaceRoot()).toAbsolutePath();
        try {
          Files.createDirectories(workDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
          throw new IllegalStateException("failed to create workspace root " + workDir + ": " + e, e);
        }
      }
      processes = LocalProcesses.create(vertx, hostEnv);
      return null;
    }, false);
  }

  private Path findOz() {
    if (settings.getOzPath() != null) {
      Path p = Path.of(settings.getOzPath());
      if (!Executables.isExecutableFile(p)) {
        throw new IllegalStateException("direct.oz_path " + p + " is not an executable file");
      }
      return p.toAbsolutePath();
    }
    Path p = Executables.find("oz", hostEnv.get("PATH"), List.of());
    if (p == null) {
      throw new IllegalStateException("oz CLI not found in PATH (install it, or set direct.oz_path / backend.direct.oz_path)");
    }
    return p;
  }

  @Override
  public Future<TaskOutcome> execute(TaskDescription task, TaskOutput output) {
    DirectRun run = new DirectRun(vertx, worker, settings, hostEnv, processes, ozPath, workDir, task, output);
    CancelReason early = earlyCancels.remove(task.taskId());
    if (early != null) {
      run.cancel(early);
    }
    running.put(task.taskId(), run);
    return run.run().onComplete(ar -> running.remove(task.taskId()));
  }

  @Override
  public Future<Void> cancel(String taskId, CancelReason reason) {
    DirectRun run = running.get(taskId);
    if (run != null) {
      run.cancel(reason);
    } else {
      // the cancel overtook the execute request: apply it when that arrives
      earlyCancels.put(taskId, reason);
    }
    return Future.succeededFuture();
  }

  /** Ready when the {@code oz} binary is still there and executable, and the workspace directory is writable. */
  @Override
  public Future<Void> checkHealth() {
    if (ozPath == null) {
      return Future.failedFuture("direct backend not started");
    }
    return vertx.executeBlocking(() -> {
      if (!Executables.isExecutableFile(ozPath)) {
        throw new IllegalStateException("oz CLI " + ozPath + " is missing or not executable");
      }
      if (!Files.isDirectory(workDir) || !Files.isWritable(workDir)) {
        throw new IllegalStateException("workspace directory " + workDir + " is missing or not writable");
      }
      return null;
    }, false);
  }

  /** Runs still here were not drained in time: kill their processes, let them clean up (bounded). */
  @Override
  public Future<Void> shutdown() {
    List<Future<?>> ending = new ArrayList<>();
    for (DirectRun run : running.values()) {
      run.abandon();
      ending.add(run.run());
    }
    return Deadline.atMost(vertx, Future.join(ending), SHUTDOWN_WAIT_MS, () -> { }).eventually(() -> {
      if (processes != null) {
        processes.close();
      }
      return Future.succeededFuture();
    });
  }
}
