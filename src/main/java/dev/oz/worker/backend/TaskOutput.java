package dev.oz.worker.backend;

import java.util.Collection;

/**
 * Where a backend writes a running task's output. Thread-safe: backends call it from their own threads
 * (docker-java callback threads), never blocking, and memory stays bounded whatever the task prints.
 */
public interface TaskOutput {

  /** Discards everything: used when log streaming is off. */
  TaskOutput DISCARD = new TaskOutput() {
    @Override
    public boolean wantsOutput() {
      return false;
    }

    @Override
    public boolean write(StdStream stream, byte[] bytes, int offset, int length) {
      return false;
    }

    @Override
    public void end() {
    }
  };

  /** False when nothing should be tailed at all (streaming off). */
  boolean wantsOutput();

  /**
   * Takes output bytes; the array may be reused by the caller after the call returns.
   *
   * @return false once no more output is wanted (the per-task cap was reached): the caller stops reading
   */
  boolean write(StdStream stream, byte[] bytes, int offset, int length);

  /** No more output will come (the container's streams closed). */
  void end();

  /**
   * A setup phase of the task finished (GO-WORKER-NEWER.md section 4: {@code setup_worker_*} events, timed by the
   * backend). Ignored unless the sink reports setup events.
   */
  default void setupEvent(SetupEvent event) {
  }

  /**
   * More values to redact from the output written after this call, besides those the log was opened with (the
   * assignment's secrets and the API key): a backend adds the operator's environment values it hands the task, and
   * values it learns only while the task runs (an environment file written by a setup command). Values shorter than
   * {@link TaskDescription#MIN_SECRET_LENGTH} are ignored.
   */
  default void addSecrets(Collection<String> secrets) {
  }
}
