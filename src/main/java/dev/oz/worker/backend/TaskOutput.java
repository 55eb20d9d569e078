package dev.oz.worker.backend;

import java.util.Collection;

/**
 * Where a backend writes a running task's output. Thread-safe: backends call it from their own threads
 * (docker-java callback threads), never blocking, and memory stays bounded whatever the task prints.
 */
public interface TaskOutput {

  /** Discards everything: used when neither log streaming nor task-log shipping nor setup events are on. */
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

  /** False when nothing should be tailed at all (no consumer of the output: streaming and shipping off). */
  boolean wantsOutput();

  /**
   * Takes output bytes; the array may be reused by the caller after the call returns.
   *
   * @return false once no more output is wanted (the per-task cap was reached): the caller stops reading
   */
  boolean write(StdStream stream, byte[] bytes, int offset, int length);

  /**
   * As {@link #write(StdStream, byte[], int, int)}, saying which part of the task wrote it; sinks that do not label
   * output ignore the origin.
   */
  default boolean write(OutputOrigin origin, StdStream stream, byte[] bytes, int offset, int length) {
    return write(stream, bytes, offset, length);
  }

  /**
   * True when output is labelled by its origin (a task log shipped to a collector): only then does a backend need
   * to learn names it has no other use for, such as a container's name (an engine round trip before the start).
   */
  default boolean labelsOrigins() {
    return false;
  }

  /** This output, with every plain {@link #write(StdStream, byte[], int, int)} labelled {@code origin}. */
  default TaskOutput from(OutputOrigin origin) {
    TaskOutput target = this;
    return new TaskOutput() {
      @Override
      public boolean wantsOutput() {
        return target.wantsOutput();
      }

      @Override
      public boolean labelsOrigins() {
        return target.labelsOrigins();
      }

      @Override
      public boolean write(StdStream stream, byte[] bytes, int offset, int length) {
        return target.write(origin, stream, bytes, offset, length);
      }

      @Override
      public boolean write(OutputOrigin other, StdStream stream, byte[] bytes, int offset, int length) {
        return target.write(other, stream, bytes, offset, length);
      }

      @Override
      public void end() {
        target.end();
      }

      @Override
      public void setupEvent(SetupEvent event) {
        target.setupEvent(event);
      }

      @Override
      public void addSecrets(Collection<String> secrets) {
        target.addSecrets(secrets);
      }
    };
  }

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
