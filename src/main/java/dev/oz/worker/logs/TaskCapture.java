package dev.oz.worker.logs;

import dev.oz.worker.backend.OutputOrigin;
import dev.oz.worker.backend.SetupEvent;
import dev.oz.worker.backend.StdStream;
import dev.oz.worker.backend.TaskOutput;
import java.util.Collection;
import java.util.function.Consumer;

/**
 * One task's output capture, the one sink every backend writes to: the same bytes go to the {@code task_log} stream
 * (when streaming is on) and to the task's OTLP collector (when the assignment asks and the operator allows), and
 * setup phases go to hosted Oz. Output is wanted while either consumer wants it: the stream's per-task cap does not
 * stop the shipped log.
 */
final class TaskCapture implements TaskOutput {
  private final TaskLogSink stream;
  private final OtlpTaskLog shipped;
  private final Consumer<SetupEvent> setupEvents;
  private volatile boolean streamWants;

  /** Each part may be null (absent). */
  TaskCapture(TaskLogSink stream, OtlpTaskLog shipped, Consumer<SetupEvent> setupEvents) {
    this.stream = stream;
    this.shipped = shipped;
    this.setupEvents = setupEvents;
    this.streamWants = stream != null;
  }

  @Override
  public boolean wantsOutput() {
    return stream != null || shipped != null;
  }

  @Override
  public boolean labelsOrigins() {
    return shipped != null;
  }

  @Override
  public boolean write(StdStream s, byte[] bytes, int offset, int length) {
    return write(OutputOrigin.TASK, s, bytes, offset, length);
  }

  @Override
  public boolean write(OutputOrigin origin, StdStream s, byte[] bytes, int offset, int length) {
    if (streamWants) {
      streamWants = stream.write(s, bytes, offset, length);
    }
    if (shipped != null) {
      shipped.write(origin, s, bytes, offset, length);
      return true;
    }
    return streamWants;
  }

  @Override
  public void end() {
    if (stream != null) {
      stream.end();
    }
    if (shipped != null) {
      shipped.endOutput();
    }
  }

  @Override
  public void addSecrets(Collection<String> secrets) {
    if (stream != null) {
      stream.addSecrets(secrets);
    }
    if (shipped != null) {
      shipped.addSecrets(secrets);
    }
  }

  @Override
  public void setupEvent(SetupEvent event) {
    if (setupEvents != null) {
      setupEvents.accept(event);
    }
    if (shipped != null) {
      shipped.setupEvent(event);
    }
  }
}
