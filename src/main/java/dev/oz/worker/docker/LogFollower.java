package dev.oz.worker.docker;

import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.StreamType;
import dev.oz.worker.logs.StdStream;
import dev.oz.worker.logs.TaskOutput;
import io.vertx.core.Future;
import io.vertx.core.Promise;

/**
 * Follows a container's stdout/stderr on docker-java's stream thread and writes it to the task's output;
 * stops reading when the output wants no more (per-task cap). {@link #done()} completes on the backend's
 * context when the stream ends, which for a followed container is after it exited and all output was read.
 */
final class LogFollower extends AsyncCallback<Frame> {
  private final TaskOutput output;
  private final Blocking blocking;
  private final Promise<Void> done = Promise.promise();

  LogFollower(TaskOutput output, Blocking blocking) {
    this.output = output;
    this.blocking = blocking;
  }

  @Override
  public void onNext(Frame frame) {
    byte[] payload = frame.getPayload();
    if (payload == null || payload.length == 0) {
      return;
    }
    StdStream stream = frame.getStreamType() == StreamType.STDERR ? StdStream.STDERR : StdStream.STDOUT;
    // docker-java reuses the payload buffer: the output copies what it keeps
    if (!output.write(stream, payload, 0, payload.length)) {
      close();
    }
  }

  @Override
  protected void finished(Throwable error) {
    blocking.onContext(() -> done.tryComplete());
  }

  Future<Void> done() {
    return done.future();
  }
}
