package dev.oz.worker.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.oz.worker.backend.StdStream;
import io.vertx.core.buffer.Buffer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
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
}
