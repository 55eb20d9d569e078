package dev.oz.worker.process;

import com.zaxxer.nuprocess.NuAbstractProcessHandler;
import com.zaxxer.nuprocess.NuProcess;
import dev.oz.worker.backend.StdStream;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.nio.ByteBuffer;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One command running as a local process, the leader of a process group of its own, so that a stop reaches
 * everything it started. No thread waits for it: NuProcess reads its pipes with epoll, and its exit is seen
 * either when the pipes close or, when something it left running keeps them open, by peeking at its status.
 * State is touched on the creating Vert.x context only; {@link #terminate} and {@link #kill} may be called from anywhere.
 */
public final class LocalProcess {
  private static final Logger log = LoggerFactory.getLogger(LocalProcess.class);
  /** After the exit, how long output may still arrive before the process counts as ended. */
  static final long DRAIN_MS = 1000;
  static final long EXIT_POLL_MS = 200;

  /** Receives output on NuProcess's thread; must not block. */
  public interface OutputHandler {
    void output(StdStream stream, byte[] bytes, int length);
  }

  private final Context context;
  private final OutputHandler output;
  private final boolean stopLeftoversOnExit;
  private final byte[] stdin;
  private final Promise<Integer> exited = Promise.promise();
  private final Promise<Integer> ended = Promise.promise();
  private volatile boolean outputClosed;
  private volatile int pid;
  private boolean stdoutClosed;
  private boolean stderrClosed;
  private boolean killSent;
  private long pollTimer = -1;
  private long killTimer = -1;

  LocalProcess(Context context, OutputHandler output, boolean stopLeftoversOnExit, byte[] stdin) {
    this.context = context;
    this.output = output;
    this.stopLeftoversOnExit = stopLeftoversOnExit;
    this.stdin = stdin;
  }

  /** The process id, which is also its process group id. */
  public int pid() {
    return pid;
  }

  /**
   * Completes with the exit status once the process has exited and its output has been read (or has stopped
   * arriving, see {@link #DRAIN_MS}): the exit code, or 128 + the number of the signal that killed it.
   */
  public Future<Integer> ended() {
    return ended.future();
  }

  /** SIGTERM to the whole group, then SIGKILL after {@code grace} if the process has not exited by then. */
  public void terminate(Duration grace) {
    if (Vertx.currentContext() != context) {
      context.runOnContext(v -> terminate(grace));
      return;
    }
    if (exited.future().isComplete()) {
      return;
    }
    Posix.signalGroup(pid, Posix.SIGTERM);
    if (killTimer < 0) {
      killTimer = context.owner().setTimer(Math.max(1, grace.toMillis()), id -> {
        killTimer = -1;
        kill();
      });
    }
  }

  /** SIGKILL to the whole group at once. */
  public void kill() {
    if (Vertx.currentContext() != context) {
      context.runOnContext(v -> kill());
      return;
    }
    if (!exited.future().isComplete()) {
      killSent = true;
      Posix.signalGroup(pid, Posix.SIGKILL);
    }
  }

  // ---- called by LocalProcesses, and from NuProcess's thread ----

  void started() {
    if (exited.future().isComplete()) {
      return; // it was over before we got here
    }
    pollTimer = context.owner().setPeriodic(EXIT_POLL_MS, id -> {
      int status = Posix.peekExit(pid);
      if (status != Posix.NOT_EXITED) {
        onExit(status);
      }
    });
  }

  final NuAbstractProcessHandler handler = new NuAbstractProcessHandler() {
    /** Before NuProcess reads anything, so stdin is still open even for a command that exits at once. */
    @Override
    public void onStart(NuProcess p) {
      pid = p.getPID();
      try {
        if (stdin == null) {
          p.closeStdin(true);
        } else {
          p.writeStdin(ByteBuffer.wrap(stdin));
          p.closeStdin(false);
        }
      } catch (RuntimeException e) {
        log.debug("Process {}: stdin: {}", p.getPID(), e.toString());
      }
    }

    @Override
    public void onStdout(ByteBuffer buffer, boolean closed) {
      read(StdStream.STDOUT, buffer, closed);
    }

    @Override
    public void onStderr(ByteBuffer buffer, boolean closed) {
      read(StdStream.STDERR, buffer, closed);
    }

    @Override
    public void onExit(int code) {
      onContext(() -> onReaped(code));
    }
  };

  /** Never throws: an exception would end NuProcess's loop, and with it the reading of every process. */
  private void read(StdStream stream, ByteBuffer buffer, boolean closed) {
    int n = buffer.remaining();
    byte[] bytes = new byte[n];
    buffer.get(bytes);
    try {
      if (n > 0 && !outputClosed) {
        output.output(stream, bytes, n);
      }
      if (closed) {
        onContext(() -> {
          if (stream == StdStream.STDOUT) {
            stdoutClosed = true;
          } else {
            stderrClosed = true;
          }
          endIfDrained();
        });
      }
    } catch (RuntimeException e) {
      log.warn("Process {}: dropping output after an error: {}", pid, e.toString());
    }
  }

  private void onContext(Runnable action) {
    try {
      context.runOnContext(v -> action.run());
    } catch (RuntimeException e) {
      // Vert.x is closing: nobody waits for this process any more
    }
  }

  /**
   * NuProcess reaped the process: its code is the exit code, except that it reports 127 as MIN_VALUE (it takes it for
   * a failed exec) and a signal death as the bare signal number. The wrapper turns the command's signal deaths into
   * 128+n itself, so only a SIGKILL of the wrapper (ours) arrives as a bare 9.
   */
  private void onReaped(int code) {
    int status = code == Integer.MIN_VALUE ? 127 : killSent && code == Posix.SIGKILL ? 128 + Posix.SIGKILL : code;
    onExit(status);
    stdoutClosed = true;
    stderrClosed = true;
    endIfDrained();
  }

  private void onExit(int status) {
    if (exited.future().isComplete()) {
      return;
    }
    if (pollTimer >= 0) {
      context.owner().cancelTimer(pollTimer);
    }
    if (killTimer >= 0) {
      context.owner().cancelTimer(killTimer);
    }
    if (stopLeftoversOnExit) {
      // what it started and left running ends with it, as in a container whose main process exited
      Posix.signalGroup(pid, Posix.SIGKILL);
    }
    exited.complete(status);
    context.owner().setTimer(DRAIN_MS, id -> end());
    endIfDrained();
  }

  private void endIfDrained() {
    if (exited.future().isComplete() && stdoutClosed && stderrClosed) {
      end();
    }
  }

  private void end() {
    if (!ended.future().isComplete()) {
      outputClosed = true;
      ended.complete(exited.future().result());
    }
  }

  /** The process could not be started: nothing to wait for. */
  void failedToStart() {
    outputClosed = true;
  }
}
