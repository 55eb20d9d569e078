package dev.oz.worker.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.github.dockerjava.core.DefaultDockerClientConfig;
import dev.oz.worker.testing.TestVertx;
import dev.oz.worker.testing.Waits;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Container exits from one event stream, against an engine stand-in that answers {@code /events}. */
class ContainerExitsTest {
  private static final Duration WAIT = Duration.ofSeconds(5);

  private TestVertx testVertx;
  private HttpServer server;
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private volatile HttpServerResponse events;
  private Context context;
  private EngineStreams streams;
  private ContainerExits exits;

  @BeforeEach
  void setUp() throws Exception {
    testVertx = TestVertx.create();
    server = testVertx.vertx().createHttpServer().requestHandler(req -> {
      requests.add(req.uri());
      req.response().setChunked(true).putHeader("Content-Type", "application/json").setStatusCode(200);
      req.response().writeHead();
      events = req.response();
    }).listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS);
    var config = DefaultDockerClientConfig.createDefaultConfigBuilder()
        .withDockerHost("tcp://127.0.0.1:" + server.actualPort()).withDockerTlsVerify(false).build();
    context = testVertx.vertx().getOrCreateContext();
    streams = EngineStreams.connect(testVertx.vertx(), new EngineTarget(config, "test", null, false));
    exits = new ContainerExits(streams, "worker-7");
  }

  @AfterEach
  void tearDown() throws Exception {
    streams.close().await(5, TimeUnit.SECONDS);
    testVertx.close();
  }

  private <T> T on(Supplier<T> action) throws Exception {
    CompletableFuture<T> result = new CompletableFuture<>();
    context.runOnContext(v -> result.complete(action.get()));
    return result.get(5, TimeUnit.SECONDS);
  }

  private static String die(String containerId, String exitCode) {
    return new JsonObject().put("status", "die").put("id", containerId).put("Type", "container").put("Action", "die")
        .put("Actor", new JsonObject().put("ID", containerId).put("Attributes", new JsonObject()
            .put("exitCode", exitCode).put("oz.worker.id", "worker-7").put("image", "agent")))
        .put("time", 1).put("timeNano", 1_000_000_000L).encode() + "\n";
  }

  @Test
  void eachExpectedContainerGetsTheExitCodeOfItsDieEventFromTheOneStream() throws Exception {
    on(exits::open);
    Future<Long> first = on(() -> exits.expect("c1"));
    Future<Long> second = on(() -> exits.expect("c2"));
    Waits.until(() -> events != null, WAIT, () -> "no events request: " + requests);

    String other = die("not-ours", "1");
    String secondDies = die("c2", "137");
    // split mid-event: one JSON object per line, however the bytes arrive
    events.write(other + secondDies.substring(0, 40));
    events.write(secondDies.substring(40) + die("c1", "0"));

    assertEquals(137L, second.toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS));
    assertEquals(0L, first.toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS));
    assertEquals(List.of("/events?filters=" + java.net.URLEncoder.encode(
        "{\"type\":[\"container\"],\"event\":[\"die\"],\"label\":[\"oz.worker.id=worker-7\"]}",
        java.nio.charset.StandardCharsets.UTF_8)), requests, "one stream, only this worker's die events");
  }

  @Test
  void aContainerNoLongerExpectedIsLeftAloneAndTheStreamsEndIsReported() throws Exception {
    Future<Void> ended = on(exits::open);
    Future<Long> forgotten = on(() -> exits.expect("c1"));
    Future<Long> unreadable = on(() -> exits.expect("c2"));
    on(() -> {
      exits.forget("c1");
      return null;
    });
    Waits.until(() -> events != null, WAIT, () -> "no events request: " + requests);
    events.write(die("c1", "0") + die("c2", "not a number"));
    events.end();

    ended.toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    assertFalse(forgotten.isComplete(), "forgotten");
    assertFalse(unreadable.isComplete(), "the container's wait answers instead");
  }
}
