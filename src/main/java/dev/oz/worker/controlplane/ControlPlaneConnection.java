package dev.oz.worker.controlplane;

import dev.oz.worker.config.ConnectionOptions;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.metrics.WorkerMetrics;
import dev.oz.worker.net.SocketErrors;
import dev.oz.worker.protocol.ProtocolException;
import dev.oz.worker.protocol.ProtocolJson;
import dev.oz.worker.protocol.ServerMessage;
import dev.oz.worker.protocol.TaskLogFrame;
import dev.oz.worker.protocol.TaskRejected;
import dev.oz.worker.protocol.WorkerMessage;
import dev.oz.worker.bus.Deadline;
import io.netty.buffer.Unpooled;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketFrameType;
import io.vertx.core.http.impl.ws.WebSocketFrameImpl;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.internal.http.WebSocketInternal;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The WebSocket to the control plane: connect, keepalive, reconnect with backoff, and the outbox. Runs on
 * the event loop of the verticle that owns it; it is the only writer of the socket.
 */
public final class ControlPlaneConnection {
  private static final Logger log = LoggerFactory.getLogger(ControlPlaneConnection.class);
  private static final int MAX_CAUSES = 256;
  private final java.util.Set<String> warnedCauses = new java.util.HashSet<>();
  private static final short NORMAL_CLOSURE = 1000;
  private static final int SEND_BUFFER_BYTES = 1024 * 1024;
  private static final long CLOSE_TIMEOUT_MS = 3_000;

  /** What the owner hears from the connection, on its event loop. */
  public interface Listener {
    void onMessage(ServerMessage message);

    void onConnectionChange(boolean connected);
  }

  private final Vertx vertx;
  private final ConnectionOptions timing;
  private final String url;
  private final String apiKey;
  private final String version;
  private final WorkerMetrics metrics;
  private final Listener listener;
  private final Backoff backoff;
  private final Outbox outbox;
  private final WebSocketClient client;
  private final int maxFrameBytes;

  private WebSocket ws;
  private int generation;
  private boolean stopped;
  private long reconnectTimer = -1;
  private long keepaliveTimer = -1;
  private long lastInboundNanos;
  private long lastPingNanos;

  /** @param version sent as {@code X-Warp-Worker-Version} (opaque to the server, at most 128 UTF-8 bytes) */
  public ControlPlaneConnection(Vertx vertx, WorkerOptions options, String version, WorkerMetrics metrics,
      Listener listener) {
    this.vertx = vertx;
    this.version = DialHeaders.version(version);
    this.timing = options.getConnection();
    this.url = ConnectionUrl.withWorkerId(options.getWsUrl(), options.getWorkerId());
    this.apiKey = options.getApiKey();
    this.metrics = metrics;
    this.listener = listener;
    this.backoff = new Backoff(timing.getReconnectInitial(), timing.getReconnectMax(),
        () -> ThreadLocalRandom.current().nextDouble());
    this.outbox = new Outbox(timing.getOutboxLimit(), timing.getReplayBytes());
    this.maxFrameBytes = (int) Math.min(Integer.MAX_VALUE, 2L * timing.getMaxMessageBytes());
    this.client = vertx.createWebSocketClient(new WebSocketClientOptions()
        // one limit however the control plane frames a message: a big assignment may come as one frame. Frames get
        // twice the room so that an oversized single frame still reaches the message check, which answers 1009 (the
        // frame decoder would only drop the connection); beyond that the decoder protects memory.
        .setMaxMessageSize(timing.getMaxMessageBytes())
        .setMaxFrameSize(maxFrameBytes)
        // a small kernel send buffer keeps what a dead peer can swallow within the replay window
        .setSendBufferSize(SEND_BUFFER_BYTES)
        .setClosingTimeout(2));
  }

  public void start() {
    connect();
  }

  /** Queues a report; it is delivered in order, after reconnects if need be. */
  public void send(WorkerMessage message) {
    enqueue(message, null);
  }

  /** Queues an encoded log chunk; the future completes once the chunk was written to the socket. */
  public Future<Void> sendLog(TaskLogFrame chunk) {
    Promise<Void> written = Promise.promise();
    outbox.add(chunk, written);
    pump();
    return written.future();
  }

  private void enqueue(WorkerMessage message, Promise<Void> written) {
    Outbox.Entry dropped = outbox.add(message, written);
    if (dropped != null) {
      log.error("Outbox full ({} reports waiting for the control plane): dropped {} for task {}",
          timing.getOutboxLimit(), dropped.message.type(), dropped.message.taskId());
    }
    pump();
  }

  /**
   * Delivers what is still queued (reconnecting if the socket is down) for up to {@code flushTimeoutMs}, then
   * stops reconnecting and closes with 1000.
   */
  public Future<Void> close(long flushTimeoutMs) {
    Promise<Void> flushed = Promise.promise();
    long deadline = System.nanoTime() + flushTimeoutMs * 1_000_000;
    if (ws == null && !outbox.isEmpty() && reconnectTimer >= 0) {
      // reports are waiting: try now rather than after a long backoff
      vertx.cancelTimer(reconnectTimer);
      backoff.reset();
      connect();
    }
    awaitFlush(flushed, deadline);
    return flushed.future().compose(v -> {
      stopped = true;
      cancelTimers();
      if (!outbox.isEmpty()) {
        log.warn("Closing with {} message(s) not delivered to the control plane", outbox.size());
      }
      WebSocket socket = ws;
      ws = null;
      Future<Void> closed = socket == null ? Future.succeededFuture() : closePolitely(socket);
      return closed.eventually(client::close);
    });
  }

  /** Close 1000, but never wait more than a few seconds for a peer that does not read. */
  private Future<Void> closePolitely(WebSocket socket) {
    return Deadline.atMost(vertx, socket.close(NORMAL_CLOSURE, "worker shutting down"), CLOSE_TIMEOUT_MS,
        () -> forceClose(socket));
  }

  private void awaitFlush(Promise<Void> done, long deadlineNanos) {
    if (outbox.isEmpty() || System.nanoTime() >= deadlineNanos) {
      done.tryComplete();
      return;
    }
    vertx.setTimer(20, id -> awaitFlush(done, deadlineNanos));
  }

  // ---- connecting ----

  private void connect() {
    reconnectTimer = -1;
    if (stopped) {
      return;
    }
    log.info("Connecting to {}", url);
    WebSocketConnectOptions connect = new WebSocketConnectOptions()
        .setAbsoluteURI(url)
        .addHeader("Authorization", "Bearer " + apiKey)
        .addHeader(DialHeaders.VERSION, version)
        .addHeader(DialHeaders.CAPABILITIES, DialHeaders.CAPABILITY_LIST)
        .setTimeout(timing.getHandshakeTimeout().toMillis());
    client.connect(connect).onComplete(ar -> {
      if (stopped) {
        if (ar.succeeded()) {
          ar.result().close(NORMAL_CLOSURE, "worker shutting down");
        }
        return;
      }
      if (ar.succeeded()) {
        onConnected(ar.result());
      } else {
        onDialFailed(ar.cause());
      }
    });
  }

  private void onDialFailed(Throwable cause) {
    metrics.reconnect(WorkerMetrics.DIAL_FAILED);
    if (cause instanceof UpgradeRejectedException rejected
        && (rejected.getStatus() == 401 || rejected.getStatus() == 403)) {
      backoff.toMax();
      long delay = backoff.nextDelayMs();
      log.error("Authentication failed: the control plane refused the API key (HTTP {}). Check --api-key / OZ_API_KEY;"
          + " retrying in {} ms", rejected.getStatus(), delay);
      scheduleReconnect(delay);
      return;
    }
    long delay = backoff.nextDelayMs();
    log.error("Failed to connect: {}, retrying in {} ms", SocketErrors.reason(cause), delay);
    scheduleReconnect(delay);
  }

  private void scheduleReconnect(long delayMs) {
    if (!stopped) {
      reconnectTimer = vertx.setTimer(delayMs, id -> connect());
    }
  }

  private void onConnected(WebSocket socket) {
    int gen = ++generation;
    ws = socket;
    lastInboundNanos = System.nanoTime();
    lastPingNanos = lastInboundNanos;
    backoff.reset();
    log.info("Successfully connected to server");
    if (socket instanceof WebSocketInternal internal) {
      MaskedFrameEncoder.install(internal.channelHandlerContext().pipeline());
    }
    socket.frameHandler(frame -> lastInboundNanos = System.nanoTime());
    socket.textMessageHandler(this::onText);
    socket.drainHandler(v -> pump());
    socket.exceptionHandler(err -> {
      if (gen != generation) {
        return;
      }
      String tooBig = OversizedMessage.describe(err, timing.getMaxMessageBytes());
      if (tooBig != null && ws == socket) {
        log.warn("{}; closing the connection with 1009", tooBig);
        // the rest of it would only be dropped piece by piece: start over (Netty may already be closing the channel
        // after an oversized frame, but it does not tell the peer why)
        socket.close(OversizedMessage.CLOSE_CODE, "message too big");
        return;
      }
      log.debug("WebSocket error: {}", SocketErrors.reason(err));
    });
    socket.closeHandler(v -> {
      if (gen == generation && ws == socket) {
        Short code = socket.closeStatusCode();
        log.warn("Connection closed{}, will attempt to reconnect", code == null ? "" : " (code " + code + ")");
        lost();
      }
    });
    long tick = Math.max(10, Math.min(1000, Math.min(timing.getPingInterval().toMillis() / 2,
        Math.min(timing.getWriteTimeout().toMillis() / 2, timing.getIdleTimeout().toMillis() / 4))));
    keepaliveTimer = vertx.setPeriodic(tick, id -> keepalive(socket));
    metrics.connected(true);
    listener.onConnectionChange(true);
    pump();
  }

  private void keepalive(WebSocket socket) {
    if (ws != socket) {
      return;
    }
    long now = System.nanoTime();
    long idleMs = (now - lastInboundNanos) / 1_000_000;
    if (idleMs > timing.getIdleTimeout().toMillis()) {
      log.warn("No data or pong from the control plane for {} ms: connection is dead, reconnecting", idleMs);
      abandon(socket);
      return;
    }
    long oldest = outbox.oldestInFlightNanos();
    if (oldest >= 0 && (now - oldest) / 1_000_000 > timing.getWriteTimeout().toMillis()) {
      log.warn("A write did not complete within {}: connection is dead, reconnecting", timing.getWriteTimeout());
      abandon(socket);
      return;
    }
    if ((now - lastPingNanos) / 1_000_000 >= timing.getPingInterval().toMillis()) {
      lastPingNanos = now;
      socket.writePing(Buffer.buffer());
    }
  }

  /** Gives up on a socket that looks dead without waiting for a close handshake it will never answer. */
  private void abandon(WebSocket socket) {
    lost();
    forceClose(socket);
  }

  /**
   * Closes the TCP connection now. A polite close frame can sit forever behind a full write buffer when
   * the peer stopped reading, so this goes to the channel (Vert.x internal API; there is no public one).
   */
  private static void forceClose(WebSocket socket) {
    if (socket instanceof WebSocketInternal internal) {
      internal.channelHandlerContext().close();
    } else {
      socket.close();
    }
  }

  private void lost() {
    generation++;
    ws = null;
    if (keepaliveTimer >= 0) {
      vertx.cancelTimer(keepaliveTimer);
      keepaliveTimer = -1;
    }
    outbox.requeueInFlight();
    metrics.connected(false);
    metrics.reconnect(WorkerMetrics.REMOTE_CLOSE);
    listener.onConnectionChange(false);
    scheduleReconnect(backoff.nextDelayMs());
  }

  private void onText(String text) {
    ServerMessage message;
    try {
      message = ProtocolJson.decode(text);
    } catch (ProtocolException e) {
      warnOncePerCause(e);
      if (e.assignmentTaskId() != null) {
        // say no rather than leave the control plane waiting for a claim that never comes
        send(new TaskRejected(e.assignmentTaskId(), "invalid assignment: " + e.getMessage()));
      }
      return;
    }
    listener.onMessage(message);
  }

  /**
   * A control plane that keeps sending the same bad message must not flood the log: each cause (the reason, with the
   * task id taken out) is warned about once, repeats go to debug. Bounded: past {@value #MAX_CAUSES} causes, all debug.
   */
  private void warnOncePerCause(ProtocolException e) {
    String id = e.assignmentTaskId();
    String cause = id == null ? e.getMessage() : e.getMessage().replace(id, "<task>");
    if (warnedCauses.size() < MAX_CAUSES && warnedCauses.add(cause)) {
      log.warn("Ignoring message from the control plane: {} (further messages with this fault are logged at debug)",
          e.getMessage());
    } else {
      log.debug("Ignoring message from the control plane: {}", e.getMessage());
    }
  }

  // ---- writing ----

  private void pump() {
    WebSocket socket = ws;
    if (socket == null || socket.isClosed()) {
      return; // the close handler requeues what is unconfirmed and reconnects
    }
    int gen = generation;
    while (outbox.hasUnsent() && ws == socket && !socket.isClosed() && !socket.writeQueueFull()) {
      Outbox.Entry e = outbox.nextUnsent(System.nanoTime());
      writeText(socket, e.frame, e.length).onComplete(ar -> {
        if (gen != generation) {
          return; // that connection is gone; the entry was requeued
        }
        if (ar.succeeded()) {
          Outbox.Entry done = outbox.confirmOldest();
          if (done != null && done.written != null) {
            done.written.tryComplete(); // replays complete nothing: this promise is done
          }
        } else if (ws == socket) {
          log.warn("WebSocket write error: {}", SocketErrors.reason(ar.cause()));
          abandon(socket);
        }
      });
    }
  }

  /**
   * One text frame from the message's UTF-8 bytes. Vert.x's public API takes text only as a string, which it
   * encodes again; its frame class (internal) takes the bytes. A message beyond the frame size goes the public way,
   * which splits it.
   */
  private Future<Void> writeText(WebSocket socket, byte[] frame, int length) {
    if (length > maxFrameBytes) {
      return socket.writeTextMessage(new String(frame, 0, length, java.nio.charset.StandardCharsets.UTF_8));
    }
    // wrapped, not copied: the entry keeps the array for a replay, and the encoder masks into a buffer of its own
    // (MaskedFrameEncoder)
    return socket.writeFrame(new WebSocketFrameImpl(WebSocketFrameType.TEXT, Unpooled.wrappedBuffer(frame, 0, length), true));
  }

  private void cancelTimers() {
    if (reconnectTimer >= 0) {
      vertx.cancelTimer(reconnectTimer);
      reconnectTimer = -1;
    }
    if (keepaliveTimer >= 0) {
      vertx.cancelTimer(keepaliveTimer);
      keepaliveTimer = -1;
    }
  }
}
