package dev.oz.worker.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.core.DefaultDockerClientConfig;
import dev.oz.worker.testing.RecordedOutput;
import dev.oz.worker.testing.TestVertx;
import dev.oz.worker.testing.Waits;
import io.vertx.core.Context;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The read of a container's log after its exit (the catch-up) delivers what the follow did not, exactly once, against
 * a unix-socket engine stand-in: opened by the very handler that closes the follow, and continued where it stopped
 * when the engine's answer breaks off.
 */
class LogCatchUpReadTest {
  private static final Duration WAIT = Duration.ofSeconds(5);
  private static final List<String> ENTRIES = List.of("line 1\n", "line 2\n", "the last line, without newline");
  private static final String LOG = String.join("", ENTRIES);

  private TestVertx testVertx;
  private Path dir;
  private ServerSocketChannel server;
  private Thread acceptor;
  /** The open follow connections by container id. */
  private final Map<String, SocketChannel> follows = new ConcurrentHashMap<>();
  /** Per container, how many entries each plain read sends before the engine breaks the connection off. */
  private final Map<String, Queue<Integer>> cuts = new ConcurrentHashMap<>();
  private EngineStreams streams;
  private Context context;

  @BeforeEach
  void setUp() throws Exception {
    testVertx = TestVertx.create();
    dir = Files.createTempDirectory("engine");
    Path socket = dir.resolve("docker.sock");
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX).bind(UnixDomainSocketAddress.of(socket));
    acceptor = new Thread(this::serve, "engine-stand-in");
    acceptor.start();
    var config = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost("unix://" + socket).build();
    streams = EngineStreams.connect(testVertx.vertx(), new EngineTarget(config, "test", null, false));
    context = testVertx.vertx().getOrCreateContext();
  }

  @AfterEach
  void tearDown() throws Exception {
    streams.close().await(5, TimeUnit.SECONDS);
    testVertx.close();
    server.close();
    acceptor.join(5000);
    for (SocketChannel follow : follows.values()) {
      follow.close();
    }
    Files.deleteIfExists(dir.resolve("docker.sock"));
    Files.deleteIfExists(dir);
  }

  /**
   * A follow gets the head and stays open (the test writes to it); a plain read gets the whole log with its length,
   * or, while the container has cuts left, only the first entries before the connection closes.
   */
  private void serve() {
    while (server.isOpen()) {
      try {
        SocketChannel connection = server.accept();
        String request = readHead(connection);
        String container = request.split("/")[2];
        if (request.contains("follow=1")) {
          write(connection, "HTTP/1.0 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n");
          follows.put(container, connection);
          continue;
        }
        if (container.equals("removed")) {
          String refusal = "{\"message\":\"can not get logs from container which is dead or marked for removal\"}";
          write(connection, "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: "
              + refusal.length() + "\r\n\r\n" + refusal);
          connection.close();
          continue;
        }
        Integer cut = cuts.getOrDefault(container, new ConcurrentLinkedQueue<>()).poll();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (String entry : ENTRIES.subList(0, cut == null ? ENTRIES.size() : cut)) {
          body.writeBytes(frame(entry));
        }
        int length = ENTRIES.stream().mapToInt(e -> frame(e).length).sum();
        write(connection, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\nContent-Length: "
            + length + "\r\n\r\n");
        connection.write(ByteBuffer.wrap(body.toByteArray()));
        connection.close();
      } catch (IOException closed) {
        return;
      }
    }
  }

  private static String readHead(SocketChannel connection) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    ByteBuffer one = ByteBuffer.allocate(1);
    while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
      one.clear();
      if (connection.read(one) < 0) {
        throw new IOException("closed before the end of the request");
      }
      head.write(one.get(0));
    }
    return head.toString(StandardCharsets.US_ASCII);
  }

  private static void write(SocketChannel connection, String text) throws IOException {
    connection.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII)));
  }

  /** One stdout frame of the engine's multiplexed stream. */
  private static byte[] frame(String payload) {
    byte[] bytes = payload.getBytes(StandardCharsets.UTF_8);
    ByteBuffer frame = ByteBuffer.allocate(8 + bytes.length);
    frame.put((byte) 1).put(new byte[3]).putInt(bytes.length).put(bytes);
    return frame.array();
  }

  @Test
  void aReadOpenedWhereTheFollowIsClosedGetsTheWholeLog() throws Exception {
    assertTrue(testVertx.vertx().isNativeTransportEnabled(), "the hazard is epoll's: the test runs there");
    CompletableFuture<String> caughtUp = new CompletableFuture<>();
    EngineStreams.LogStream[] follow = new EngineStreams.LogStream[1];
    ByteArrayOutputStream catchUp = new ByteArrayOutputStream();
    context.runOnContext(v -> {
      follow[0] = streams.logs("task", true, 0, (s, b, o, n) -> { });
      // stands for the exit's announcement: the handler that sees it closes the follow and reads the log again; the
      // new socket gets the follow's file descriptor number
      streams.logs("exit", true, 0, (s, b, o, n) -> {
        follow[0].close();
        streams.logs("task", false, 0, (stream, bytes, offset, length) -> catchUp.write(bytes, offset, length))
            .done().onComplete(ar -> caughtUp.complete(ar.succeeded() ? catchUp.toString(StandardCharsets.UTF_8)
                : "failed: " + ar.cause()));
      });
    });
    Waits.until(() -> follows.size() == 2, WAIT, () -> "follows open: " + follows.keySet());
    // let the loop take in both heads: an event still due from them would be polled ahead of the exit's below
    Thread.sleep(200);
    // hold the loop while the exit and then the follow's output and end arrive, so that it polls both in one round,
    // the exit's first
    CountDownLatch holding = new CountDownLatch(1);
    CountDownLatch arrived = new CountDownLatch(1);
    context.runOnContext(v -> {
      holding.countDown();
      try {
        arrived.await(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    try {
      assertTrue(holding.await(5, TimeUnit.SECONDS), "the loop holds");
      follows.get("exit").write(ByteBuffer.wrap(frame("die\n")));
      SocketChannel task = follows.get("task");
      task.write(ByteBuffer.wrap(frame("line 1\n")));
      task.shutdownOutput();
    } finally {
      arrived.countDown();
    }
    assertEquals(LOG, caughtUp.get(5, TimeUnit.SECONDS), "the catch-up read delivered the whole log");
  }

  @Test
  void aReadThatBreaksOffIsContinuedFromWhereTheOutputStands() throws Exception {
    // the first read delivers two entries, the second breaks off before it gets past them, the third ends
    cuts.put("c", new ConcurrentLinkedQueue<>(List.of(2, 1)));
    RecordedOutput output = new RecordedOutput();
    CompletableFuture<List<LogFollower>> reads = new CompletableFuture<>();
    context.runOnContext(v -> {
      LogFollower first = new LogFollower(output).start(streams, "c", false);
      first.done().onComplete(a -> {
        LogFollower second = first.continuation().start(streams, "c", false);
        second.done().onComplete(b -> {
          LogFollower third = second.continuation().start(streams, "c", false);
          third.done().onComplete(c -> reads.complete(List.of(first, second, third)));
        });
      });
    });
    List<LogFollower> done = reads.get(5, TimeUnit.SECONDS);
    assertNotNull(done.get(0).failure(), "the first read broke off");
    assertEquals("the engine closed the connection before the end of the log", done.get(1).failure().getMessage());
    assertNull(done.get(2).failure(), "the third read ended");
    assertEquals(LOG, output.text(), "every byte once, in order");
  }

  @Test
  void theEngineSayingTheContainerIsGoneEndsTheReadAsARefusalNotToBeRepeated() throws Exception {
    CompletableFuture<LogFollower> read = new CompletableFuture<>();
    context.runOnContext(v -> {
      LogFollower follower = new LogFollower(new RecordedOutput()).start(streams, "removed", false);
      follower.done().onComplete(ar -> read.complete(follower));
    });
    Throwable failure = read.get(5, TimeUnit.SECONDS).failure();
    assertNotNull(failure, "the read failed");
    assertTrue(EngineRefusal.containerGone(failure), failure.toString());
    assertEquals("engine answered 409: can not get logs from container which is dead or marked for removal",
        DockerEngine.rootMessage(failure));
    assertFalse(EngineRefusal.containerGone(new IllegalStateException("Connection reset by peer")));
    assertFalse(EngineRefusal.containerGone(new EngineRefusal(500, "engine answered 500: boom")));
  }
}
