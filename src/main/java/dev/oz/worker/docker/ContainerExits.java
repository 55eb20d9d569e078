package dev.oz.worker.docker;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Container exits as the engine announces them: one event stream per engine ({@code die} events of this worker's
 * containers), shared by every running task. The engine sends {@code die} once the container's output is all in
 * its log; Docker 20.10 sends it before tearing down the container's network and mounts, and its wait returns only
 * after that (tens of milliseconds later), while 23.0 and later send it after the teardown, with the wait. A run asks
 * for its container's exit before starting it and still waits as well: whichever answers first gives the exit code,
 * so a missed event (the stream was down or reopening) only costs time.
 *
 * <p>The stream's end is also how {@link EngineHealth} notices that the engine went away. Used on the backend's
 * context only.
 */
final class ContainerExits {
  private static final Logger log = LoggerFactory.getLogger(ContainerExits.class);

  private final EngineStreams streams;
  private final JsonObject filters;
  private final Map<String, Promise<Long>> expected = new HashMap<>();
  private EngineStreams.LogStream stream;

  ContainerExits(EngineStreams streams, String workerId) {
    this.streams = streams;
    this.filters = new JsonObject()
        .put("type", new JsonArray().add("container"))
        .put("event", new JsonArray().add("die"))
        .put("label", new JsonArray().add(DockerRuntime.WORKER_LABEL + "=" + workerId));
  }

  /** Opens the event stream; completes when it ends (the engine stopped or the stream broke). */
  Future<Void> open() {
    EngineStreams.LogStream opened = streams.events(filters, this::event);
    stream = opened;
    return opened.done().recover(err -> {
      log.debug("The engine's event stream ended: {}", err.getMessage());
      return Future.succeededFuture();
    });
  }

  /**
   * The exit code of {@code containerId}'s next {@code die} event. Asked before the container starts (or before it
   * is followed again), so the event cannot come first; never completes when the event is missed.
   */
  Future<Long> expect(String containerId) {
    Promise<Long> exit = Promise.promise();
    expected.put(containerId, exit);
    return exit.future();
  }

  /** The run no longer needs {@code containerId}'s exit. */
  void forget(String containerId) {
    expected.remove(containerId);
  }

  void close() {
    if (stream != null) {
      stream.close();
    }
  }

  private void event(JsonObject event) {
    JsonObject actor = event.getJsonObject("Actor", new JsonObject());
    String containerId = actor.getString("ID", event.getString("id"));
    Promise<Long> exit = containerId == null ? null : expected.get(containerId);
    if (exit == null) {
      return;
    }
    Object code = actor.getJsonObject("Attributes", new JsonObject()).getValue("exitCode");
    try {
      long exitCode = Long.parseLong(String.valueOf(code));
      expected.remove(containerId);
      exit.tryComplete(exitCode);
    } catch (NumberFormatException unreadable) {
      // the container's wait still gives the exit code
      log.debug("A die event without a readable exit code: {}", code);
    }
  }
}
