package dev.oz.worker.process;

import com.zaxxer.nuprocess.NuProcess;
import com.zaxxer.nuprocess.NuProcessBuilder;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts {@link LocalProcess}es. Each runs as {@code setsid [env --default-signal=PIPE] /bin/sh -c WRAPPER
 * <command...>}: {@code setsid}
 * (util-linux) makes it the leader of a new session and process group, so the group can be signalled as a whole;
 * the wrapper shell runs the command in the foreground and exits with its status, turning a signal death into
 * 128+n, and outlives the group's SIGTERM so that the command's own status is the one reported.
 */
public final class LocalProcesses {
  private static final Logger log = LoggerFactory.getLogger(LocalProcesses.class);
  static final String WRAPPER = "trap : TERM; \"$@\"; exit $?";
  static final String SHELL = "/bin/sh";

  /** Threads that fork and exec (a few milliseconds each); a bound, not one per process. */
  private static final int STARTER_THREADS = 2;

  private final Vertx vertx;
  private final List<String> prefix;
  private final WorkerExecutor starters;

  private LocalProcesses(Vertx vertx, List<String> prefix) {
    this.vertx = vertx;
    this.prefix = List.copyOf(prefix);
    this.starters = vertx.createSharedWorkerExecutor("oz-process-start", STARTER_THREADS);
  }

  /**
   * Finds {@code setsid} (on {@code PATH}, else /usr/bin or /bin) and {@code /bin/sh}; blocking (file checks), so
   * call it off the event loop. Loads NuProcess's native part too, so that the first task does not pay for it.
   *
   * @throws IllegalStateException saying what is missing
   */
  public static LocalProcesses create(Vertx vertx, Map<String, String> hostEnv) {
    Path setsid = Executables.find("setsid", hostEnv.get("PATH"), List.of("/usr/bin", "/bin"));
    if (setsid == null) {
      throw new IllegalStateException("the setsid command (util-linux) was not found on PATH, /usr/bin or /bin: it is "
          + "needed to run each task in a process group of its own");
    }
    if (!Files.isExecutable(Path.of(SHELL))) {
      throw new IllegalStateException(SHELL + " is missing or not executable");
    }
    try {
      Class.forName(NuProcessBuilder.class.getName(), true, LocalProcesses.class.getClassLoader());
      Class.forName(Posix.class.getName(), true, LocalProcesses.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      throw new IllegalStateException("cannot start local processes on this platform: " + e, e);
    }
    List<String> prefix = new ArrayList<>(List.of(setsid.toString()));
    // NuProcess makes the JVM ignore SIGPIPE, and ignored signals are inherited: give commands the default back
    Path env = Executables.find("env", hostEnv.get("PATH"), List.of("/usr/bin", "/bin"));
    if (env != null && resetsSignals(env)) {
      prefix.addAll(List.of(env.toString(), "--default-signal=PIPE"));
    } else {
      log.warn("env --default-signal (coreutils 8.31 or later) is not available: local processes start with SIGPIPE "
          + "ignored, so a write to a closed pipe fails with EPIPE instead of ending the writer");
    }
    prefix.addAll(List.of(SHELL, "-c", WRAPPER, "oz-worker"));
    return new LocalProcesses(vertx, prefix);
  }

  private static boolean resetsSignals(Path env) {
    try {
      Process probe = new ProcessBuilder(env.toString(), "--default-signal=PIPE", "true")
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      return probe.waitFor(10, TimeUnit.SECONDS) && probe.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * Starts {@code command} (an absolute executable path first) with exactly {@code env}, in {@code workingDir}.
   *
   * @param stdin written to the process's stdin, which is then closed; null closes it at once
   * @param stopLeftoversOnExit SIGKILL whatever is left in the process group once the command exits
   * @param output receives stdout and stderr, apart, on NuProcess's thread
   */
  public Future<LocalProcess> start(List<String> command, Map<String, String> env, Path workingDir, byte[] stdin,
      boolean stopLeftoversOnExit, LocalProcess.OutputHandler output) {
    Context context = vertx.getOrCreateContext();
    LocalProcess p = new LocalProcess(context, output, stopLeftoversOnExit, stdin);
    List<String> argv = new ArrayList<>(prefix);
    argv.addAll(command);
    NuProcessBuilder builder = new NuProcessBuilder(argv, env);
    builder.setCwd(workingDir);
    builder.setProcessListener(p.handler);
    // the fork and exec take a few milliseconds: not on the event loop; then back on the process's context
    return starters.<NuProcess>executeBlocking(builder::start, false).transform(ar -> {
      Promise<LocalProcess> started = Promise.promise();
      context.runOnContext(v -> {
        if (ar.failed() || ar.result() == null) {
          p.failedToStart();
          started.fail("could not start " + command.get(0) + (ar.failed() ? ": " + ar.cause().getMessage() : ""));
        } else {
          p.started();
          started.complete(p);
        }
      });
      return started.future();
    });
  }

  /** Releases the starter threads (running processes are not touched). */
  public void close() {
    starters.close();
  }
}
