package dev.oz.worker.controlplane;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A peer that completes the WebSocket handshake and then never sends another byte (no pongs): what a
 * half-dead connection looks like from the worker's side.
 */
final class SilentWebSocketServer implements AutoCloseable {
  private static final Pattern KEY = Pattern.compile("Sec-WebSocket-Key: *(\\S+)", Pattern.CASE_INSENSITIVE);
  private final NetServer server;
  private final AtomicInteger connections = new AtomicInteger();

  private SilentWebSocketServer(Vertx vertx) throws Exception {
    server = vertx.createNetServer().connectHandler(socket -> {
      Buffer request = Buffer.buffer();
      socket.handler(data -> {
        if (request.length() < 0 || request.toString().endsWith("\r\n\r\n")) {
          return; // handshake done: swallow frames
        }
        request.appendBuffer(data);
        String text = request.toString(StandardCharsets.ISO_8859_1);
        if (text.endsWith("\r\n\r\n")) {
          Matcher m = KEY.matcher(text);
          if (m.find()) {
            connections.incrementAndGet();
            socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: " + accept(m.group(1)) + "\r\n\r\n");
          }
        }
      });
    }).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
  }

  static SilentWebSocketServer start(Vertx vertx) throws Exception {
    return new SilentWebSocketServer(vertx);
  }

  String wsUrl() {
    return "ws://127.0.0.1:" + server.actualPort() + "/ws";
  }

  int connections() {
    return connections.get();
  }

  private static String accept(String key) {
    try {
      byte[] sha = MessageDigest.getInstance("SHA-1")
          .digest((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").getBytes(StandardCharsets.ISO_8859_1));
      return Base64.getEncoder().encodeToString(sha);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() throws Exception {
    server.close().await(10, TimeUnit.SECONDS);
  }
}
