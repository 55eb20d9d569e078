package dev.oz.worker.docker;

import dev.oz.worker.backend.StdStream;
import dev.oz.worker.protocol.FailureReason;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.parsetools.RecordParser;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The engine's long-lived calls (waiting for a container to exit, following its logs and its events) as non-blocking
 * HTTP on the Vert.x event loop, over the same unix socket or TCP/TLS address docker-java uses for everything else.
 * A running task then holds a connection or two, never a thread: docker-java would park two threads per task.
 */
final class EngineStreams {
  /** Enough connections for every running task's wait and log follow; the engine is the limit, not this pool. */
  private static final int MAX_CONNECTIONS = 4096;
  private static final int CONNECT_TIMEOUT_MS = 10_000;
  /** An event is a few hundred bytes plus the container's labels. */
  private static final int MAX_EVENT_BYTES = 1024 * 1024;

  private final Vertx vertx;
  private final HttpClient client;
  /** Log reads: plain sockets, see {@link LogResponseReader}. */
  private final NetClient logClient;
  private final SocketAddress server;
  private final String host;

  private EngineStreams(Vertx vertx, HttpClient client, NetClient logClient, SocketAddress server, String host) {
    this.vertx = vertx;
    this.client = client;
    this.logClient = logClient;
    this.server = server;
    this.host = host;
  }

  /** A client for {@code target}: {@code unix://} or {@code tcp://} (with TLS when the target has certificates). */
  static EngineStreams connect(Vertx vertx, EngineTarget target) {
    URI address = URI.create(target.address());
    HttpClientOptions http = new HttpClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MS).setKeepAlive(true);
    NetClientOptions net = new NetClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MS);
    SocketAddress server;
    String host;
    switch (address.getScheme()) {
      case "unix" -> {
        server = SocketAddress.domainSocketAddress(address.getPath());
        host = "docker";
      }
      case "tcp" -> {
        server = SocketAddress.inetSocketAddress(address.getPort(), address.getHost());
        host = address.getHost();
        if (target.tls()) {
          Path certs = Path.of(target.certPath());
          PemTrustOptions trust = new PemTrustOptions().addCertPath(certs.resolve("ca.pem").toString());
          PemKeyCertOptions key = new PemKeyCertOptions()
              .setCertPath(certs.resolve("cert.pem").toString())
              .setKeyPath(certs.resolve("key.pem").toString());
          http.setSsl(true).setTrustOptions(trust).setKeyCertOptions(key);
          // the HTTP client checks the engine's host name; so must the log sockets
          net.setSsl(true).setTrustOptions(trust).setKeyCertOptions(key).setHostnameVerificationAlgorithm("HTTPS");
        }
      }
      default -> throw new IllegalArgumentException("cannot stream from a " + address.getScheme()
          + ":// engine address; use unix:///path/to/docker.sock or tcp://host:port");
    }
    HttpClient client = vertx.createHttpClient(http, new PoolOptions().setHttp1MaxSize(MAX_CONNECTIONS));
    return new EngineStreams(vertx, client, vertx.createNetClient(net), server, host);
  }

  /**
   * Loads the HTTP codec off the event loop; blocking. The first request otherwise loads it on the event loop, which
   * takes over a second on a busy machine (the event stream opens while the rest of the worker starts).
   */
  static void warmUp() {
    EmbeddedChannel channel = new EmbeddedChannel(new HttpClientCodec());
    channel.writeOutbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, io.netty.handler.codec.http.HttpMethod.GET,
        "/events"));
    channel.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", StandardCharsets.US_ASCII));
    channel.finishAndReleaseAll();
  }

  /**
   * Waits until the container stops; its exit code. Fails with a {@link TaskFailure} ({@code container_wait})
   * when the engine cannot say.
   */
  Future<Long> waitExit(String containerId) {
    return client.request(request(HttpMethod.POST, "/containers/" + containerId + "/wait"))
        .compose(HttpClientRequest::send)
        .compose(response -> response.body().map(body -> exitCode(response, body)))
        .recover(err -> Future.failedFuture(err instanceof TaskFailure ? err
            : new TaskFailure(FailureReason.CONTAINER_WAIT, "error waiting for container: " + DockerEngine.rootMessage(err), err)));
  }

  private static long exitCode(HttpClientResponse response, Buffer body) {
    if (response.statusCode() != 200) {
      throw new TaskFailure(FailureReason.CONTAINER_WAIT, "error waiting for container: " + engineMessage(response, body), null);
    }
    JsonObject result = body.toJsonObject();
    Number code = result.getNumber("StatusCode");
    if (code == null) {
      throw new TaskFailure(FailureReason.CONTAINER_WAIT, "error waiting for container: the wait ended without an exit code", null);
    }
    return code.longValue();
  }

  /**
   * Reads the container's stdout and stderr into {@code sink}: all of it, or its last {@code tail} entries when
   * {@code tail} is positive; with {@code follow}, until the container stops.
   */
  LogStream logs(String containerId, boolean follow, int tail, FrameSink sink) {
    String uri = "/containers/" + containerId + "/logs?stdout=1&stderr=1" + (follow ? "&follow=1" : "")
        + (tail > 0 ? "&tail=" + tail : "");
    LogStream stream = new LogStream();
    // On a task of its own, once the event loop is done with the events it polled: the handler that sees the exit
    // closes the follow's socket and opens this one, which gets the follow's file descriptor number, and an event
    // polled for the follow's socket would reach the new one (epoll names events by number) and close it unconnected
    vertx.getOrCreateContext().runOnContext(v -> open(uri, stream, sink));
    return stream;
  }

  private void open(String uri, LogStream stream, FrameSink sink) {
    if (stream.closed) {
      return;
    }
    // HTTP/1.0: the engine then sends the body as it comes and closes the connection at its end, without a chunk
    // header per log line (chunked answers are read too, e.g. from a proxy)
    Buffer request = Buffer.buffer("GET " + uri + " HTTP/1.0\r\nHost: " + host + "\r\n\r\n");
    (server.isDomainSocket() ? logClient.connect(server) : logClient.connect(server, host))
        .onSuccess(socket -> {
          stream.abort = socket::close;
          if (stream.closed) {
            socket.close();
            return;
          }
          LogResponseReader reader = new LogResponseReader(new FrameDecoder(sink), error -> {
            stream.finish(error);
            socket.close();
          });
          ReadPacer pacer = null;
          if (socket instanceof NetSocketInternal raw) {
            // Netty's buffers as they are read: the public handler would get a copy of each
            ReadPacer p = pacer = new ReadPacer(vertx, raw.channelHandlerContext().channel());
            raw.messageHandler(msg -> {
              try {
                if (msg instanceof ByteBuf bytes) {
                  int n = bytes.readableBytes();
                  reader.feed(bytes);
                  p.afterRead(n);
                }
              } finally {
                ReferenceCountUtil.release(msg);
              }
            });
          } else {
            socket.handler(reader::feed);
          }
          ReadPacer started = pacer;
          socket.closeHandler(v -> {
            if (started != null) {
              started.stop();
            }
            reader.closed();
          });
          socket.exceptionHandler(stream::finish);
          socket.write(request);
        })
        .onFailure(stream::finish);
  }

  /**
   * Follows the engine's event stream, narrowed by {@code filters} (the engine's {@code filters} query parameter),
   * handing each event to {@code sink} as it arrives; {@link LogStream#done()} completes when the stream ends, as it
   * does when the engine goes away.
   */
  LogStream events(JsonObject filters, Handler<JsonObject> sink) {
    String uri = "/events?filters=" + URLEncoder.encode(filters.encode(), StandardCharsets.UTF_8);
    LogStream stream = new LogStream();
    client.request(request(HttpMethod.GET, uri))
        .compose(req -> {
          stream.abort = req::reset;
          if (stream.closed) {
            req.reset();
          }
          return req.send();
        })
        .onSuccess(response -> {
          if (response.statusCode() != 200) {
            response.body().onComplete(ar -> stream.finish(new IllegalStateException(
                engineMessage(response, ar.succeeded() ? ar.result() : Buffer.buffer()))));
            return;
          }
          // one JSON object per line
          RecordParser lines = RecordParser.newDelimited("\n", line -> {
            if (line.length() > 0) {
              sink.handle(line.toJsonObject());
            }
          }).maxRecordSize(MAX_EVENT_BYTES);
          lines.exceptionHandler(err -> {
            stream.finish(err);
            stream.close();
          });
          response.handler(buffer -> {
            try {
              lines.handle(buffer);
            } catch (RuntimeException unreadable) {
              stream.finish(unreadable); // a stream out of step: reopened by whoever watches it end
              stream.close();
            }
          });
          response.exceptionHandler(stream::finish);
          response.endHandler(v -> stream.finish(null));
        })
        .onFailure(stream::finish);
    return stream;
  }

  Future<Void> close() {
    return Future.join(client.close(), logClient.close()).mapEmpty();
  }

  private RequestOptions request(HttpMethod method, String uri) {
    // no idle timeout: a wait or a follow is silent for as long as the task runs
    return new RequestOptions().setServer(server).setHost(host).setMethod(method).setURI(uri);
  }

  private static String engineMessage(HttpClientResponse response, Buffer body) {
    return engineMessage(response.statusCode(), body);
  }

  static String engineMessage(int status, Buffer body) {
    String message = null;
    try {
      message = body.toJsonObject().getString("message");
    } catch (RuntimeException notJson) {
      // the engine answers errors as {"message": ...}; anything else is quoted raw below
    }
    return "engine answered " + status + ": " + (message != null ? message : body.toString().strip());
  }

  /**
   * Paces a busy log socket: the engine writes each log line on its own, and a reader that keeps up wakes for every
   * line (a read of ~70 bytes, with all the per-read work). After a small read (< 16 KiB) that follows the previous one
   * closely, reading stops for {@value #PAUSE_MS} ms so that the lines pile up in the socket and the next read takes
   * them together. A quiet log (a line now and then) is never held back; a flood's end is seen at most that much later.
   *
   * <p>The pause must stay short: the kernel keeps each line in a buffer of its own and counts its overhead against the
   * engine's send buffer, so the engine's end of a unix socket holds only about 20 KB of log lines (some 280 lines, 3–4
   * ms of a flood at 5 MB/s); once it is full, the engine's follow waits for this reader. A timer also fires late on a
   * busy loop: pauses of 2 ms lasted 3–6 ms on average on the benchmark's loaded machine and 55–65 % of the reads after
   * them found the socket full; 1 ms pauses lasted 2–2.4 ms (34–56 %).
   */
  static final class ReadPacer {
    private static final int SMALL_READ_BYTES = 16 * 1024;
    static final long PAUSE_MS = 1;
    private final Vertx vertx;
    private final io.netty.channel.Channel channel;
    private long lastReadNanos;
    private boolean readBefore;
    private long timer = -1;

    ReadPacer(Vertx vertx, io.netty.channel.Channel channel) {
      this.vertx = vertx;
      this.channel = channel;
    }

    void afterRead(int bytes) {
      if (timer >= 0 || !pauseAfter(bytes, System.nanoTime())) {
        return;
      }
      channel.config().setAutoRead(false);
      timer = vertx.setTimer(PAUSE_MS, id -> {
        timer = -1;
        channel.config().setAutoRead(true);
      });
    }

    /** Whether to pause after a read of {@code bytes} at {@code now} (nanos); the caller then pauses. */
    boolean pauseAfter(int bytes, long now) {
      boolean busy = readBefore && now - lastReadNanos < PAUSE_MS * 1_000_000;
      readBefore = true;
      lastReadNanos = now;
      return busy && bytes < SMALL_READ_BYTES;
    }

    void stop() {
      if (timer >= 0) {
        vertx.cancelTimer(timer);
        timer = -1;
      }
    }
  }

  /** Receives a log stream's payload, stream by stream, in the order the engine sent it. */
  interface FrameSink {
    /** Bytes of one stream; the array is reused after the call returns. */
    void frame(StdStream stream, byte[] bytes, int offset, int length);
  }

  /** A log or event read in progress: {@link #done()} completes once, when it ends, fails or is closed. */
  static final class LogStream {
    private final Promise<Void> done = Promise.promise();
    /** Closes the log socket or resets the events request, once either is open. */
    private Runnable abort;
    private boolean closed;

    Future<Void> done() {
      return done.future();
    }

    /** Stops reading; {@link #done()} then completes normally. */
    void close() {
      closed = true;
      if (abort != null) {
        abort.run();
      }
      done.tryComplete();
    }

    private void finish(Throwable error) {
      if (error == null || closed) {
        done.tryComplete();
      } else {
        done.tryFail(error);
      }
    }
  }

  /**
   * Splits the engine's multiplexed stream (an 8-byte header per frame: stream type, 3 zero bytes, payload length
   * big-endian). Payloads of one stream that follow each other are handed on together, at the latest when
   * {@link #flush()} is called (after each socket read): the engine sends one frame per log line.
   */
  static final class FrameDecoder {
    private static final int HEADER = 8;
    private static final int MAX_PENDING = 1 << 20;
    private final FrameSink sink;
    private final byte[] header = new byte[HEADER];
    private int headerFilled;
    private long payloadLeft;
    private StdStream stream = StdStream.STDOUT;
    private byte[] pending = new byte[16 * 1024];
    private int pendingLength;
    /** How much of {@code pending} ends a whole frame: the engine writes a line as one frame. */
    private int completeLength;
    private StdStream pendingStream = StdStream.STDOUT;

    FrameDecoder(FrameSink sink) {
      this.sink = sink;
    }

    /** Decodes {@code buffer} and hands on the whole frames held. */
    void feed(Buffer buffer) {
      byte[] bytes = buffer.getBytes();
      feed(bytes, 0, bytes.length);
      flush();
    }

    /** Decodes {@code in[pos..end)}; payloads may be held until {@link #flush()}. */
    void feed(byte[] in, int pos, int end) {
      while (pos < end) {
        if (payloadLeft == 0) {
          int take = Math.min(HEADER - headerFilled, end - pos);
          System.arraycopy(in, pos, header, headerFilled, take);
          headerFilled += take;
          pos += take;
          if (headerFilled == HEADER) {
            headerFilled = 0;
            stream = header[0] == 2 ? StdStream.STDERR : StdStream.STDOUT;
            payloadLeft = ((header[4] & 0xffL) << 24) | ((header[5] & 0xff) << 16) | ((header[6] & 0xff) << 8) | (header[7] & 0xff);
          }
          continue;
        }
        if (stream != pendingStream || pendingLength == MAX_PENDING) {
          end();
          pendingStream = stream;
        }
        int take = (int) Math.min(Math.min(payloadLeft, end - pos), MAX_PENDING - pendingLength);
        if (pending.length - pendingLength < take) {
          pending = java.util.Arrays.copyOf(pending, Math.min(MAX_PENDING, Math.max(pendingLength + take, 2 * pending.length)));
        }
        System.arraycopy(in, pos, pending, pendingLength, take);
        pendingLength += take;
        pos += take;
        payloadLeft -= take;
        if (payloadLeft == 0) {
          completeLength = pendingLength;
        }
      }
    }

    /**
     * Hands on the whole frames held. A frame cut by the socket read waits for its rest, so that a line is never
     * handed on in two pieces (a partial flush of the task's log would then send half a line).
     */
    void flush() {
      handOn(completeLength);
    }

    /** Hands on everything held: the stream ended or changed, or the frame outgrew the buffer. */
    void end() {
      handOn(pendingLength);
    }

    private void handOn(int n) {
      if (n == 0) {
        return;
      }
      sink.frame(pendingStream, pending, 0, n);
      System.arraycopy(pending, n, pending, 0, pendingLength - n);
      pendingLength -= n;
      completeLength = Math.max(0, completeLength - n);
    }
  }
}
