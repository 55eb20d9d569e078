package dev.oz.worker.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.oz.worker.backend.StdStream;
import io.vertx.core.buffer.Buffer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The engine's multiplexed log stream, however the network cuts it into buffers. */
class FrameDecoderTest {

  private static Buffer frame(int type, String payload) {
    byte[] bytes = payload.getBytes(StandardCharsets.UTF_8);
    return Buffer.buffer().appendByte((byte) type).appendBytes(new byte[3]).appendInt(bytes.length).appendBytes(bytes);
  }

  @Test
  void separatesTheStreamsWhateverTheBufferBoundaries() {
    Buffer wire = Buffer.buffer()
        .appendBuffer(frame(1, "hello\n"))
        .appendBuffer(frame(2, "oops\n"))
        .appendBuffer(frame(1, "x".repeat(20_000)))
        .appendBuffer(frame(1, ""))
        .appendBuffer(frame(2, "bye"));
    for (int cut : new int[] {1, 3, 7, 8, 9, 100, 4096, wire.length()}) {
      ByteArrayOutputStream[] out = {new ByteArrayOutputStream(), new ByteArrayOutputStream()};
      EngineStreams.FrameDecoder decoder = new EngineStreams.FrameDecoder(
          (stream, bytes, offset, length) -> out[stream.ordinal()].write(bytes, offset, length));
      for (int i = 0; i < wire.length(); i += cut) {
        decoder.feed(wire.getBuffer(i, Math.min(wire.length(), i + cut)));
      }
      assertEquals("hello\n" + "x".repeat(20_000), out[StdStream.STDOUT.ordinal()].toString(StandardCharsets.UTF_8), "cut " + cut);
      assertEquals("oops\nbye", out[StdStream.STDERR.ordinal()].toString(StandardCharsets.UTF_8), "cut " + cut);
    }
  }

  /** Each payload handed on in one piece per read when the stream does not change: one call, not one per line. */
  @Test
  void handsOnOneStreamsConsecutiveLinesTogether() {
    Buffer wire = Buffer.buffer();
    for (int i = 0; i < 100; i++) {
      wire.appendBuffer(frame(1, "line " + i + "\n"));
    }
    wire.appendBuffer(frame(2, "err\n"));
    List<String> calls = new ArrayList<>();
    new EngineStreams.FrameDecoder((stream, bytes, offset, length) ->
        calls.add(stream + ":" + new String(bytes, offset, length, StandardCharsets.UTF_8))).feed(wire);
    assertEquals(2, calls.size());
    assertEquals("STDERR:err\n", calls.get(1));
  }

  /** A line cut by a socket read is handed on whole once its frame is complete, never as two pieces. */
  @Test
  void aFrameCutByTheReadIsHandedOnWhole() {
    Buffer wire = frame(1, "first line\n").appendBuffer(frame(1, "second line\n"));
    int cut = wire.length() - 5;
    List<String> calls = new ArrayList<>();
    EngineStreams.FrameDecoder decoder = new EngineStreams.FrameDecoder((stream, bytes, offset, length) ->
        calls.add(new String(bytes, offset, length, StandardCharsets.UTF_8)));
    decoder.feed(wire.getBuffer(0, cut));
    assertEquals(List.of("first line\n"), calls);
    decoder.feed(wire.getBuffer(cut, wire.length()));
    assertEquals(List.of("first line\n", "second line\n"), calls);
    decoder.feed(frame(2, "half of a lost line").getBuffer(0, 15));
    decoder.end();
    assertEquals("half of", calls.get(2), "the stream's end hands on what arrived");
  }

  private record Read(String stdout, String stderr, Throwable error, boolean finished) {
  }

  /** The engine's answer fed to a {@link LogResponseReader} in pieces of {@code cut} bytes, then the connection closed. */
  private static Read read(Buffer response, int cut) {
    ByteArrayOutputStream[] out = {new ByteArrayOutputStream(), new ByteArrayOutputStream()};
    AtomicReference<Throwable> error = new AtomicReference<>();
    int[] outcomes = {0};
    LogResponseReader reader = new LogResponseReader(new EngineStreams.FrameDecoder(
        (stream, bytes, offset, length) -> out[stream.ordinal()].write(bytes, offset, length)), e -> {
          outcomes[0]++;
          error.set(e);
        });
    for (int i = 0; i < response.length(); i += cut) {
      reader.feed(response.getBuffer(i, Math.min(response.length(), i + cut)));
    }
    reader.closed();
    assertEquals(1, outcomes[0], "one outcome");
    return new Read(out[0].toString(StandardCharsets.UTF_8), out[1].toString(StandardCharsets.UTF_8), error.get(), true);
  }

  private static Buffer body() {
    return Buffer.buffer().appendBuffer(frame(1, "hello\n")).appendBuffer(frame(2, "oops\n"))
        .appendBuffer(frame(1, "x".repeat(5000))).appendBuffer(frame(1, "bye"));
  }

  @Test
  void readsABodyThatEndsWithTheConnection() {
    Buffer response = Buffer.buffer("HTTP/1.0 200 OK\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n\r\n")
        .appendBuffer(body());
    for (int cut : new int[] {1, 5, 17, 4096, response.length()}) {
      Read r = read(response, cut);
      assertEquals(null, r.error(), "cut " + cut);
      assertEquals("hello\n" + "x".repeat(5000) + "bye", r.stdout(), "cut " + cut);
      assertEquals("oops\n", r.stderr(), "cut " + cut);
    }
  }

  @Test
  void readsChunkedAndSizedBodies() {
    Buffer body = body();
    Buffer chunked = Buffer.buffer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < body.length(); i += 7) {
      Buffer piece = body.getBuffer(i, Math.min(body.length(), i + 7));
      chunked.appendString(Integer.toHexString(piece.length()) + ";ext=1\r\n").appendBuffer(piece).appendString("\r\n");
    }
    chunked.appendString("0\r\nX-Trailer: 1\r\n\r\n");
    Buffer sized = Buffer.buffer("HTTP/1.1 200 OK\r\ncontent-length: " + body.length() + "\r\n\r\n").appendBuffer(body);
    for (Buffer response : List.of(chunked, sized)) {
      for (int cut : new int[] {1, 3, 64, response.length()}) {
        Read r = read(response, cut);
        assertEquals(null, r.error(), "cut " + cut);
        assertEquals("hello\n" + "x".repeat(5000) + "bye", r.stdout());
        assertEquals("oops\n", r.stderr());
      }
    }
  }

  @Test
  void anEngineRefusalFailsWithItsMessage() {
    Buffer response = Buffer.buffer("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 39\r\n\r\n"
        + "{\"message\":\"No such container: abc123\"}");
    Read r = read(response, 10);
    assertEquals("engine answered 404: No such container: abc123", r.error().getMessage());
    assertEquals("", r.stdout());
  }

  @Test
  void aConnectionLostInsideAChunkedBodyIsAFailure() {
    Buffer response = Buffer.buffer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    Buffer first = frame(1, "partial\n");
    response.appendString(Integer.toHexString(first.length()) + "\r\n").appendBuffer(first).appendString("\r\n");
    Read r = read(response, 1000);
    assertEquals("partial\n", r.stdout(), "what arrived is delivered");
    assertEquals("the engine closed the connection before the end of the log", r.error().getMessage());
  }
}
