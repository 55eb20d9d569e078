package dev.oz.worker.controlplane;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.testing.TestVertx;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxException;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.internal.http.WebSocketInternal;
import io.vertx.core.net.SelfSignedCertificate;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The worker's own WebSocket frame encoder: what a server's decoder reads from it, and that it replaces Netty's. */
class MaskedFrameEncoderTest {

  @Test
  void aServerReadsBackEveryKindOfFrameOfEverySize() {
    Random random = new Random(42);
    List<WebSocketFrame> sent = new ArrayList<>();
    for (int size : new int[] {0, 1, 3, 4, 5, 125, 126, 127, 65_535, 65_536, 70_001, 300_000}) {
      byte[] payload = new byte[size];
      random.nextBytes(payload);
      sent.add(new BinaryWebSocketFrame(true, 0, Unpooled.wrappedBuffer(payload)));
    }
    sent.add(new TextWebSocketFrame(false, 0, "first part, "));
    sent.add(new ContinuationWebSocketFrame(true, 0, Unpooled.copiedBuffer("last part", StandardCharsets.UTF_8)));
    sent.add(new PingWebSocketFrame(Unpooled.wrappedBuffer(new byte[125])));
    sent.add(new PongWebSocketFrame(Unpooled.wrappedBuffer(new byte[] {1, 2, 3})));
    // a slice of a larger array (offset into it) and a direct buffer (no array) take the two copying paths
    byte[] big = "....the middle of a larger array....".getBytes(StandardCharsets.UTF_8);
    sent.add(new TextWebSocketFrame(true, 0, Unpooled.wrappedBuffer(big).slice(4, big.length - 8)));
    ByteBuf direct = Unpooled.directBuffer(100).writeBytes("from a direct buffer".getBytes(StandardCharsets.UTF_8));
    sent.add(new TextWebSocketFrame(true, 0, direct));
    sent.add(new BinaryWebSocketFrame(true, 3, Unpooled.wrappedBuffer(new byte[] {9, 8, 7})));
    sent.add(new CloseWebSocketFrame(1009, "message too big")); // last: a server reads nothing after a close

    List<WebSocketFrame> expected = new ArrayList<>();
    for (WebSocketFrame f : sent) {
      expected.add(f.copy());
    }
    List<WebSocketFrame> received = decodeAsAServer(encode(sent));

    assertEquals(expected.size(), received.size());
    for (int i = 0; i < expected.size(); i++) {
      WebSocketFrame want = expected.get(i);
      WebSocketFrame got = received.get(i);
      assertEquals(want.getClass(), got.getClass(), "frame " + i);
      assertEquals(want.isFinalFragment(), got.isFinalFragment(), "frame " + i);
      assertEquals(want.rsv(), got.rsv(), "frame " + i);
      assertArrayEquals(ByteBufUtil.getBytes(want.content()), ByteBufUtil.getBytes(got.content()), "frame " + i);
      want.release();
      got.release();
    }
  }

  @Test
  void theBytesAreNettysButForTheKeyAndEachFrameHasAKeyOfItsOwn() {
    byte[] payload = "{\"type\":\"task_log\",\"data\":{\"chunk\":\"hello\"}}".getBytes(StandardCharsets.UTF_8);
    Set<Integer> keys = new HashSet<>();
    for (int i = 0; i < 8; i++) {
      byte[] ours = encode(List.of(new TextWebSocketFrame(true, 0, Unpooled.wrappedBuffer(payload))));
      byte[] netty = encodeWith(new WebSocket08FrameEncoder(true), new TextWebSocketFrame(true, 0, Unpooled.wrappedBuffer(payload)));
      assertEquals(netty.length, ours.length);
      assertEquals(netty[0], ours[0], "FIN and opcode");
      assertEquals(netty[1], ours[1], "mask bit and length");
      int key = (ours[2] & 0xff) << 24 | (ours[3] & 0xff) << 16 | (ours[4] & 0xff) << 8 | (ours[5] & 0xff);
      keys.add(key);
      for (int j = 0; j < payload.length; j++) {
        assertEquals(payload[j], (byte) (ours[6 + j] ^ ours[2 + (j & 3)]), "byte " + j + " unmasked with the frame's key");
      }
    }
    assertTrue(keys.size() > 1, "a fresh random key per frame: " + keys);
  }

  @Test
  void aPingLongerThanTheProtocolAllowsIsRefused() {
    EmbeddedChannel channel = new EmbeddedChannel(new MaskedFrameEncoder());
    EncoderException refused = assertThrows(EncoderException.class,
        () -> channel.writeOutbound(new PingWebSocketFrame(Unpooled.wrappedBuffer(new byte[126]))));
    assertInstanceOf(TooLongFrameException.class, refused.getCause());
    channel.finishAndReleaseAll();
  }

  @ParameterizedTest(name = "tls={0}")
  @ValueSource(booleans = {false, true})
  void replacesNettysEncoderInAVertxClientConnectionWhichThenCarriesMessagesWhole(boolean tls) throws Exception {
    try (TestVertx test = TestVertx.create()) {
      Vertx vertx = test.vertx();
      List<String> received = new CopyOnWriteArrayList<>();
      HttpServerOptions serverOptions = new HttpServerOptions();
      // frames of at most 64 KiB: the 200 000-character message goes out in four frames
      WebSocketClientOptions clientOptions = new WebSocketClientOptions().setMaxFrameSize(65_536);
      if (tls) { // the frames then pass the TLS handler after the encoder
        SelfSignedCertificate certificate = SelfSignedCertificate.create("localhost");
        serverOptions.setSsl(true).setKeyCertOptions(certificate.keyCertOptions());
        clientOptions.setSsl(true).setTrustOptions(certificate.trustOptions()).setVerifyHost(false);
      }
      List<String> serverSaw = new CopyOnWriteArrayList<>(); // why a connection ended, when it ends early
      HttpServer server = vertx.createHttpServer(serverOptions)
          .exceptionHandler(err -> serverSaw.add("connection error: " + err))
          .webSocketHandler(ws -> ws.textMessageHandler(received::add)
              .exceptionHandler(err -> serverSaw.add("error: " + err))
              .closeHandler(v -> serverSaw.add("closed: " + ws.closeStatusCode() + " " + ws.closeReason())))
          .listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
      WebSocket ws = connect(vertx.createWebSocketClient(clientOptions), server.actualPort(), serverSaw);
      boolean installed = vertx.executeBlocking(
          () -> MaskedFrameEncoder.install(((WebSocketInternal) ws).channelHandlerContext().pipeline()))
          .await(10, TimeUnit.SECONDS);
      assertTrue(installed);
      assertFalse(((WebSocketInternal) ws).channelHandlerContext().pipeline().toMap().values().stream()
          .anyMatch(h -> h instanceof WebSocket08FrameEncoder), "Netty's encoder is gone");
      List<String> sent = List.of("small", "é and ✓ and 😀", "x".repeat(65_536), "y".repeat(200_000));
      for (String m : sent) {
        assertDoesNotThrow(() -> ws.writeTextMessage(m).await(10, TimeUnit.SECONDS),
            () -> "writing a message of " + m.length() + " characters; the server saw " + serverSaw);
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (received.size() < sent.size() && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertEquals(sent, received, () -> "the server saw " + serverSaw);
      // the close handshake's own outcome is not this test's: over TLS the server's answer can close the
      // connection before Vert.x completes the close, which then fails with "Connection closed" (the worker
      // ignores how a close ends, ControlPlaneConnection.closePolitely)
      assertDoesNotThrow(() -> ws.close().recover(closedMeanwhile -> Future.succeededFuture()).await(10, TimeUnit.SECONDS),
          "closing");
    }
  }

  /**
   * Connects, trying up to three times: on this loaded machine a TLS connect sometimes ends "Connection closed", the
   * client closing right after its handshake (3 runs in 16 under two busy loops, NIO and epoll alike); the connection's
   * set-up is not under test, and the worker retries a failed connect anyway.
   */
  private static WebSocket connect(WebSocketClient client, int port, List<String> serverSaw) throws Exception {
    for (int attempt = 1; ; attempt++) {
      try {
        return client.connect(port, "127.0.0.1", "/").await(10, TimeUnit.SECONDS);
      } catch (VertxException closed) {
        if (attempt == 3) {
          throw new AssertionError("connecting, 3 tries; the server saw " + serverSaw, closed);
        }
      }
    }
  }

  @Test
  void aPipelineWithoutNettysEncoderIsLeftAsItIs() {
    EmbeddedChannel channel = new EmbeddedChannel();
    assertFalse(MaskedFrameEncoder.install(channel.pipeline()));
    assertTrue(channel.pipeline().toMap().isEmpty());
    channel.finishAndReleaseAll();
  }

  private static byte[] encode(List<WebSocketFrame> frames) {
    EmbeddedChannel channel = new EmbeddedChannel(new MaskedFrameEncoder());
    for (WebSocketFrame f : frames) {
      channel.writeOutbound(f);
    }
    return drain(channel);
  }

  private static byte[] encodeWith(WebSocket08FrameEncoder encoder, WebSocketFrame frame) {
    EmbeddedChannel channel = new EmbeddedChannel(encoder);
    channel.writeOutbound(frame);
    return drain(channel);
  }

  private static byte[] drain(EmbeddedChannel channel) {
    ByteBuf all = Unpooled.buffer();
    for (Object o = channel.readOutbound(); o != null; o = channel.readOutbound()) {
      ByteBuf b = (ByteBuf) o;
      all.writeBytes(b);
      b.release();
    }
    channel.finishAndReleaseAll();
    return ByteBufUtil.getBytes(all);
  }

  /** Netty's server-side decoder, which requires masked frames, fed the bytes in uneven pieces. */
  private static List<WebSocketFrame> decodeAsAServer(byte[] bytes) {
    EmbeddedChannel server = new EmbeddedChannel(new WebSocket08FrameDecoder(WebSocketDecoderConfig.newBuilder()
        .expectMaskedFrames(true).allowExtensions(true).maxFramePayloadLength(1 << 20).build()));
    for (int i = 0; i < bytes.length; i += 7_001) {
      server.writeInbound(Unpooled.wrappedBuffer(bytes, i, Math.min(7_001, bytes.length - i)));
    }
    List<WebSocketFrame> frames = new ArrayList<>();
    for (Object o = server.readInbound(); o != null; o = server.readInbound()) {
      frames.add((WebSocketFrame) o);
    }
    server.finishAndReleaseAll();
    return frames;
  }
}
