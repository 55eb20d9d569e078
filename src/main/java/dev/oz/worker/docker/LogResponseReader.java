package dev.oz.worker.docker;

import io.netty.buffer.ByteBuf;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Reads the engine's answer to a log request off a plain socket: the status line and headers, then the body
 * framed by {@code Content-Length}, chunked transfer coding or the end of the connection. Body bytes go to a
 * {@link EngineStreams.FrameDecoder} one socket read at a time.
 *
 * <p>Why not the HTTP client: a following log arrives as one tiny HTTP chunk per log line (the engine flushes
 * every entry), and the client dispatches each chunk on its own: a buffer copy, a queue and two context hops
 * per 60-byte line, the largest cost of a log flood. Here a socket read is parsed in one loop.
 */
final class LogResponseReader {
  private static final int MAX_HEAD_BYTES = 64 * 1024;
  private static final int MAX_ERROR_BODY_BYTES = 64 * 1024;

  /** What the reader reports, once. */
  interface Outcome {
    /** The body ended (error null) or the response was refused or broken. */
    void finished(Throwable error);
  }

  private enum State { HEAD, BODY_LENGTH, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILERS, BODY_TO_CLOSE, DONE }

  private final EngineStreams.FrameDecoder decoder;
  private final Outcome outcome;
  private State state = State.HEAD;
  private final StringBuilder line = new StringBuilder();
  private int headBytes;
  private int status = -1;
  private long contentLength = -1;
  private boolean chunked;
  private long remaining;
  private final StringBuilder errorBody = new StringBuilder();
  private byte[] read = new byte[16 * 1024];

  LogResponseReader(EngineStreams.FrameDecoder decoder, Outcome outcome) {
    this.decoder = decoder;
    this.outcome = outcome;
  }

  /** One socket read. */
  void feed(Buffer buffer) {
    int n = buffer.length();
    buffer.getBytes(0, n, room(n), 0);
    feed(read, 0, n);
  }

  /** One socket read as Netty delivers it (the caller releases it). */
  void feed(ByteBuf buffer) {
    int n = buffer.readableBytes();
    buffer.getBytes(buffer.readerIndex(), room(n), 0, n);
    feed(read, 0, n);
  }

  private byte[] room(int n) {
    if (read.length < n) {
      read = new byte[Math.max(n, 2 * read.length)];
    }
    return read;
  }

  void feed(byte[] in, int pos, int end) {
    try {
      while (pos < end && state != State.DONE) {
        switch (state) {
          case HEAD, CHUNK_SIZE, CHUNK_END, TRAILERS -> pos = readLine(in, pos, end);
          case BODY_LENGTH, CHUNK_DATA -> {
            int take = (int) Math.min(remaining, end - pos);
            body(in, pos, take);
            pos += take;
            remaining -= take;
            if (remaining == 0) {
              if (state == State.CHUNK_DATA) {
                state = State.CHUNK_END;
              } else {
                finish(null);
              }
            }
          }
          case BODY_TO_CLOSE -> {
            body(in, pos, end - pos);
            pos = end;
          }
          default -> pos = end;
        }
      }
    } catch (IOException e) {
      finish(e);
    }
    if (status == 200) {
      decoder.flush(); // the whole frames this read brought go on now
    }
  }

  /** The connection closed. */
  void closed() {
    if (state == State.BODY_TO_CLOSE) {
      finish(null);
    } else if (state != State.DONE) {
      finish(new IOException("the engine closed the connection before the end of the log"));
    }
  }

  private int readLine(byte[] in, int pos, int end) throws IOException {
    while (pos < end) {
      byte b = in[pos++];
      if (state == State.HEAD && ++headBytes > MAX_HEAD_BYTES) {
        throw new IOException("the engine's response head exceeds " + MAX_HEAD_BYTES + " bytes");
      }
      if (b == '\n') {
        int len = line.length();
        String text = len > 0 && line.charAt(len - 1) == '\r' ? line.substring(0, len - 1) : line.toString();
        line.setLength(0);
        onLine(text);
        return pos;
      }
      if (line.length() >= MAX_HEAD_BYTES) {
        throw new IOException("a line of the engine's response exceeds " + MAX_HEAD_BYTES + " bytes");
      }
      line.append((char) (b & 0xff));
    }
    return pos;
  }

  private void onLine(String text) throws IOException {
    switch (state) {
      case HEAD -> {
        if (status < 0) {
          String[] parts = text.split(" ", 3);
          if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
            throw new IOException("not an HTTP response from the engine: " + text);
          }
          status = parseStatus(parts[1]);
        } else if (!text.isEmpty()) {
          header(text);
        } else {
          startBody();
        }
      }
      case CHUNK_SIZE -> {
        int semi = text.indexOf(';');
        String hex = (semi >= 0 ? text.substring(0, semi) : text).trim();
        try {
          remaining = Long.parseLong(hex, 16);
        } catch (NumberFormatException e) {
          throw new IOException("bad chunk size from the engine: " + hex);
        }
        state = remaining == 0 ? State.TRAILERS : State.CHUNK_DATA;
      }
      case CHUNK_END -> {
        if (!text.isEmpty()) {
          throw new IOException("chunk not followed by CRLF");
        }
        state = State.CHUNK_SIZE;
      }
      case TRAILERS -> {
        if (text.isEmpty()) {
          finish(null);
        }
      }
      default -> throw new IllegalStateException(state.name());
    }
  }

  private static int parseStatus(String code) throws IOException {
    try {
      return Integer.parseInt(code);
    } catch (NumberFormatException e) {
      throw new IOException("bad status from the engine: " + code);
    }
  }

  private void header(String text) throws IOException {
    int colon = text.indexOf(':');
    if (colon <= 0) {
      return;
    }
    String name = text.substring(0, colon).trim().toLowerCase(Locale.ROOT);
    String value = text.substring(colon + 1).trim();
    if (name.equals("transfer-encoding") && value.toLowerCase(Locale.ROOT).contains("chunked")) {
      chunked = true;
    } else if (name.equals("content-length")) {
      try {
        contentLength = Long.parseLong(value);
      } catch (NumberFormatException e) {
        throw new IOException("bad Content-Length from the engine: " + value);
      }
    }
  }

  private void startBody() {
    if (chunked) {
      state = State.CHUNK_SIZE;
    } else if (contentLength >= 0) {
      remaining = contentLength;
      state = State.BODY_LENGTH;
      if (remaining == 0) {
        finish(null);
      }
    } else {
      state = State.BODY_TO_CLOSE;
    }
  }

  private void body(byte[] in, int pos, int length) {
    if (status == 200) {
      decoder.feed(in, pos, pos + length);
    } else if (errorBody.length() < MAX_ERROR_BODY_BYTES) {
      errorBody.append(new String(in, pos, Math.min(length, MAX_ERROR_BODY_BYTES - errorBody.length()), StandardCharsets.UTF_8));
    }
  }

  private void finish(Throwable error) {
    if (state == State.DONE) {
      return;
    }
    state = State.DONE;
    if (error == null && status != 200) {
      error = new EngineRefusal(status, EngineStreams.engineMessage(status, Buffer.buffer(errorBody.toString())));
    }
    if (status == 200) {
      decoder.end();
    }
    outcome.finished(error);
  }
}
