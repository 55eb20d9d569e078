package dev.oz.worker.testing;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.WebSocketFrameType;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A real WebSocket server on loopback that speaks the control-plane side of the protocol for tests: it
 * records handshakes, every frame it receives (parsed), pings and close codes, and can send messages,
 * refuse handshakes, go away and come back on the same port.
 */
public final class LoopbackControlPlane implements AutoCloseable {
  public static final String PATH = "/api/v1/selfhosted/worker/ws";

  /** What the worker sent when it connected. */
  public record Handshake(String path, String query, String authorization, String version, String capabilities) {
  }

  private final Vertx vertx;
  private final io.vertx.core.net.KeyCertOptions tls;
  private HttpServer server;
  private int port;
  private volatile int rejectStatus;
  private volatile boolean listening;
  private volatile ServerWebSocket current;
  private final List<Handshake> handshakes = new CopyOnWriteArrayList<>();
  private final List<JsonObject> received = new CopyOnWriteArrayList<>();
  private final List<Short> closeCodes = new CopyOnWriteArrayList<>();
  private final AtomicInteger pings = new AtomicInteger();
  private final List<Long> pingTimesNanos = new CopyOnWriteArrayList<>();

  private LoopbackControlPlane(Vertx vertx, io.vertx.core.net.KeyCertOptions tls) {
    this.vertx = vertx;
    this.tls = tls;
  }

  public static LoopbackControlPlane start(Vertx vertx) {
    LoopbackControlPlane cp = new LoopbackControlPlane(vertx, null);
    cp.listen(0);
    return cp;
  }

  /** A control plane behind TLS ({@code wss://}) with this server certificate. */
  public static LoopbackControlPlane startTls(Vertx vertx, io.vertx.core.net.KeyCertOptions certificate) {
    LoopbackControlPlane cp = new LoopbackControlPlane(vertx, certificate);
    cp.listen(0);
    return cp;
  }

  private void listen(int onPort) {
    HttpServerOptions serverOptions = new HttpServerOptions()
        .setMaxWebSocketFrameSize(64 * 1024 * 1024).setMaxWebSocketMessageSize(64 * 1024 * 1024);
    if (tls != null) {
      serverOptions.setSsl(true).setKeyCertOptions(tls);
    }
    server = vertx.createHttpServer(serverOptions)
        .webSocketHandshakeHandler(hs -> {
          handshakes.add(new Handshake(hs.path(), hs.query(), hs.headers().get("Authorization"),
              hs.headers().get("X-Warp-Worker-Version"), hs.headers().get("X-Warp-Worker-Capabilities")));
          if (rejectStatus != 0) {
            hs.reject(rejectStatus);
          } else {
            hs.accept();
          }
        })
        .webSocketHandler(this::onSocket)
        .requestHandler(req -> req.response().setStatusCode(404).end());
    server = await(server.listen(onPort, "127.0.0.1"));
    port = server.actualPort();
    listening = true;
  }

  private void onSocket(ServerWebSocket ws) {
    current = ws;
    ws.frameHandler(frame -> {
      if (frame.type() == WebSocketFrameType.PING) {
        pings.incrementAndGet();
        pingTimesNanos.add(System.nanoTime());
      }
    });
    ws.textMessageHandler(text -> received.add(new JsonObject(text)));
    ws.closeHandler(v -> {
      closeCodes.add(ws.closeStatusCode());
      if (current == ws) {
        current = null; // connected() means a socket that is open now
      }
    });
  }

  public String wsUrl() {
    return (tls != null ? "wss://localhost:" : "ws://127.0.0.1:") + port + PATH;
  }

  public int port() {
    return port;
  }

  /** Refuse the next handshakes with this HTTP status (0 accepts again). */
  public void rejectWith(int status) {
    rejectStatus = status;
  }

  /** The server stops reading the current connection (it still answers pings, as Vert.x does). */
  public void pauseCurrent() {
    ServerWebSocket ws = current;
    if (ws != null) {
      vertx.runOnContext(v -> ws.pause());
    }
  }

  /** When each ping arrived ({@link System#nanoTime()}). */
  public List<Long> pingTimesNanos() {
    return new ArrayList<>(pingTimesNanos);
  }

  public void send(JsonObject message) {
    sendRaw(message.encode());
  }

  /** Sends {@code message} as one text frame of any size, as some control planes do. */
  public void sendSingleFrame(JsonObject message) {
    ServerWebSocket ws = current;
    if (ws != null) {
      vertx.runOnContext(v -> ws.writeFrame(io.vertx.core.http.WebSocketFrame.textFrame(message.encode(), true)));
    }
  }

  /** Sends {@code message} in text frames of at most {@code frameBytes} each. */
  public void sendFragmented(JsonObject message, int frameBytes) {
    ServerWebSocket ws = current;
    String text = message.encode();
    if (ws != null) {
      vertx.runOnContext(v -> {
        for (int i = 0; i < text.length(); i += frameBytes) {
          String part = text.substring(i, Math.min(text.length(), i + frameBytes));
          boolean last = i + frameBytes >= text.length();
          ws.writeFrame(i == 0 ? io.vertx.core.http.WebSocketFrame.textFrame(part, last)
              : io.vertx.core.http.WebSocketFrame.continuationFrame(io.vertx.core.buffer.Buffer.buffer(part), last));
        }
      });
    }
  }

  public void sendRaw(String text) {
    ServerWebSocket ws = current;
    if (ws == null) {
      throw new IllegalStateException("no worker connected");
    }
    await(ws.writeTextMessage(text));
  }

  /** The server goes away: stops listening and drops every connection. */
  public void stop() {
    current = null;
    listening = false;
    await(server.close());
  }

  /** False between {@link #stop()} and {@link #restart()}. */
  public boolean listening() {
    return listening;
  }

  /** Closes only the current connection (the server keeps listening). */
  public void dropConnection() {
    ServerWebSocket ws = current;
    current = null;
    if (ws != null) {
      await(ws.close());
    }
  }

  /** Comes back on the same port. */
  public void restart() {
    listen(port);
  }

  public List<Handshake> handshakes() {
    return new ArrayList<>(handshakes);
  }

  public List<JsonObject> received() {
    return new ArrayList<>(received);
  }

  public List<JsonObject> received(String type) {
    return received.stream().filter(m -> type.equals(m.getString("type"))).toList();
  }

  public List<Short> closeCodes() {
    return new ArrayList<>(closeCodes);
  }

  public int pings() {
    return pings.get();
  }

  public boolean connected() {
    return current != null;
  }

  /** Waits for the first received message matching {@code match}. */
  public JsonObject await(Predicate<JsonObject> match, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (JsonObject m : received) {
        if (match.test(m)) {
          return m;
        }
      }
      sleep(10);
    }
    throw new AssertionError("no matching message within " + timeout + "; received: " + received);
  }

  public JsonObject awaitMessage(String type, String taskId, Duration timeout) {
    return await(m -> type.equals(m.getString("type"))
        && taskId.equals(m.getJsonObject("data", new JsonObject()).getString("task_id")), timeout);
  }

  public void awaitConnections(int count, Duration timeout) {
    Waits.until(() -> handshakes.size() >= count && connected(), timeout,
        () -> "expected " + count + " connection(s), saw " + handshakes.size());
  }

  @Override
  public void close() {
    try {
      await(server.close());
    } catch (RuntimeException ignored) {
      // already closed
    }
  }

  static <T> T await(Future<T> f) {
    try {
      return f.await(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
