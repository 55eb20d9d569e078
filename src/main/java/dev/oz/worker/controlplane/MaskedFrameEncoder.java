package dev.oz.worker.controlplane;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.MessageToMessageEncoder;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Encodes the worker's WebSocket frames as a client must send them (RFC 6455: masked with a fresh random key per
 * frame), the same bytes Netty's {@link WebSocket08FrameEncoder} writes, with the payload masked in one loop over a
 * byte array. Netty's encoder reads and writes the payload eight bytes at a time through the buffers' virtual
 * accessors, a dozen calls per eight bytes that the worker's C1-only JIT does not inline: a tenth of the event
 * loops' time while a task floods its log (bench/RESULTS.md).
 */
final class MaskedFrameEncoder extends MessageToMessageEncoder<WebSocketFrame> {
  /** Payloads up to this size are masked in a buffer kept between frames; larger ones in one of their own. */
  private static final int KEPT_SCRATCH_BYTES = 256 * 1024;
  private byte[] scratch = new byte[16 * 1024];

  MaskedFrameEncoder() {
    super(WebSocketFrame.class);
  }

  /**
   * Puts this encoder in place of Netty's in {@code pipeline}; false (the pipeline left as it is) when there is no
   * Netty encoder to replace, e.g. a transport that frames otherwise.
   */
  static boolean install(ChannelPipeline pipeline) {
    for (Map.Entry<String, ChannelHandler> handler : pipeline) {
      if (handler.getValue() instanceof WebSocket08FrameEncoder) {
        pipeline.replace(handler.getValue(), handler.getKey(), new MaskedFrameEncoder());
        return true;
      }
    }
    return false;
  }

  @Override
  protected void encode(ChannelHandlerContext ctx, WebSocketFrame frame, List<Object> out) throws Exception {
    ByteBuf data = frame.content();
    int opcode = opcode(frame);
    int length = data.readableBytes();
    if (opcode == 0x9 && length > 125) {
      throw new TooLongFrameException("invalid payload for PING (payload length must be <= 125, was " + length);
    }
    int headerBytes = length <= 125 ? 2 : length <= 0xFFFF ? 4 : 10;
    ByteBuf buf = ctx.alloc().buffer(headerBytes + 4 + length);
    try {
      buf.writeByte((frame.isFinalFragment() ? 0x80 : 0) | (frame.rsv() & 7) << 4 | opcode);
      if (length <= 125) {
        buf.writeByte(0x80 | length);
      } else if (length <= 0xFFFF) {
        buf.writeByte(0x80 | 126);
        buf.writeShort(length);
      } else {
        buf.writeByte(0x80 | 127);
        buf.writeLong(length);
      }
      int mask = ThreadLocalRandom.current().nextInt();
      buf.writeInt(mask);
      if (length > 0) {
        byte[] masked = length <= KEPT_SCRATCH_BYTES ? scratch(length) : new byte[length];
        if (data.hasArray()) {
          mask(data.array(), data.arrayOffset() + data.readerIndex(), masked, length, mask);
        } else {
          data.getBytes(data.readerIndex(), masked, 0, length);
          mask(masked, 0, masked, length, mask);
        }
        buf.writeBytes(masked, 0, length);
      }
      out.add(buf);
      buf = null;
    } finally {
      if (buf != null) {
        buf.release();
      }
    }
  }

  private byte[] scratch(int length) {
    if (scratch.length < length) {
      scratch = new byte[Math.min(KEPT_SCRATCH_BYTES, Math.max(length, 2 * scratch.length))];
    }
    return scratch;
  }

  /**
   * Writes {@code from[offset..offset+length)} XORed with the key's bytes in turn, most significant first (RFC 6455
   * section 5.3), to {@code to[0..length)}; {@code to} may be {@code from} at offset 0.
   */
  static void mask(byte[] from, int offset, byte[] to, int length, int key) {
    byte k0 = (byte) (key >>> 24);
    byte k1 = (byte) (key >>> 16);
    byte k2 = (byte) (key >>> 8);
    byte k3 = (byte) key;
    int i = 0;
    for (int whole = length & ~3; i < whole; i += 4) {
      to[i] = (byte) (from[offset + i] ^ k0);
      to[i + 1] = (byte) (from[offset + i + 1] ^ k1);
      to[i + 2] = (byte) (from[offset + i + 2] ^ k2);
      to[i + 3] = (byte) (from[offset + i + 3] ^ k3);
    }
    for (; i < length; i++) {
      to[i] = (byte) (from[offset + i] ^ key >>> (24 - 8 * (i & 3)));
    }
  }

  private static int opcode(WebSocketFrame frame) {
    if (frame instanceof TextWebSocketFrame) {
      return 0x1;
    } else if (frame instanceof BinaryWebSocketFrame) {
      return 0x2;
    } else if (frame instanceof ContinuationWebSocketFrame) {
      return 0x0;
    } else if (frame instanceof CloseWebSocketFrame) {
      return 0x8;
    } else if (frame instanceof PingWebSocketFrame) {
      return 0x9;
    } else if (frame instanceof PongWebSocketFrame) {
      return 0xA;
    }
    throw new UnsupportedOperationException("Cannot encode frame of type: " + frame.getClass().getName());
  }
}
