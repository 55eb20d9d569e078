package dev.oz.worker.docker;

import dev.oz.worker.backend.StdStream;
import dev.oz.worker.protocol.FailureReason;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpVersion;
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
import io.vertx.core.json.JsonObject;
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

  private final HttpClient client;
  private final SocketAddress server;
  private final String host;

  private EngineStreams(HttpClient client, SocketAddress server, String host) {
    this.client = client;
    this.server = server;
    this.host = host;
  }

  /** A client for {@code target}: {@code unix://} or {@code tcp://} (with TLS when the target has certificates). */
  static EngineStreams connect(Vertx vertx, EngineTarget target) {
    URI address = URI.create(target.address());
    HttpClientOptions http = new HttpClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MS).setKeepAlive(true);
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
          http.setSsl(true)
              .setTrustOptions(new PemTrustOptions().addCertPath(certs.resolve("ca.pem").toString()))
              .setKeyCertOptions(new PemKeyCertOptions()
                  .setCertPath(certs.resolve("cert.pem").toString())
                  .setKeyPath(certs.resolve("key.pem").toString()));
        }
      }
      default -> throw new IllegalArgumentException("cannot stream from a " + address.getScheme()
          + ":// engine address; use unix:///path/to/docker.sock or tcp://host:port");
    }
    HttpClient client = vertx.createHttpClient(http, new PoolOptions().setHttp1MaxSize(MAX_CONNECTIONS));
    return new EngineStreams(client, server, host);
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
    client.request(request(HttpMethod.GET, uri))
        .compose(req -> {
          stream.request = req;
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
          FrameDecoder decoder = new FrameDecoder(sink);
          response.handler(decoder::feed);
          response.exceptionHandler(stream::finish);
          response.endHandler(v -> stream.finish(null));
        })
        .onFailure(stream::finish);
    return stream;
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
          stream.request = req;
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
    return client.close();
  }

  private RequestOptions request(HttpMethod method, String uri) {
    // no idle timeout: a wait or a follow is silent for as long as the task runs
    return new RequestOptions().setServer(server).setHost(host).setMethod(method).setURI(uri);
  }

  private static String engineMessage(HttpClientResponse response, Buffer body) {
    String message = null;
    try {
      message = body.toJsonObject().getString("message");
    } catch (RuntimeException notJson) {
      // the engine answers errors as {"message": ...}; anything else is quoted raw below
    }
    return "engine answered " + response.statusCode() + ": " + (message != null ? message : body.toString().strip());
  }

  /** Receives a log stream's payload, stream by stream, in the order the engine sent it. */
  interface FrameSink {
    /** Bytes of one stream; the array is reused after the call returns. */
    void frame(StdStream stream, byte[] bytes, int offset, int length);
  }

  /** A log or event read in progress: {@link #done()} completes once, when it ends, fails or is closed. */
  static final class LogStream {
    private final Promise<Void> done = Promise.promise();
    private HttpClientRequest request;
    private boolean closed;

    Future<Void> done() {
      return done.future();
    }

    /** Stops reading; {@link #done()} then completes normally. */
    void close() {
      closed = true;
      if (request != null) {
        request.reset();
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
   * big-endian) and hands each payload on as it arrives, without waiting for a whole frame.
   */
  static final class FrameDecoder {
    private static final int HEADER = 8;
    private final FrameSink sink;
    private final byte[] header = new byte[HEADER];
    private int headerFilled;
    private long payloadLeft;
    private StdStream stream = StdStream.STDOUT;
    private byte[] scratch = new byte[8192];

    FrameDecoder(FrameSink sink) {
      this.sink = sink;
    }

    void feed(Buffer buffer) {
      int pos = 0;
      int end = buffer.length();
      while (pos < end) {
        if (payloadLeft == 0) {
          int take = Math.min(HEADER - headerFilled, end - pos);
          buffer.getBytes(pos, pos + take, header, headerFilled);
          headerFilled += take;
          pos += take;
          if (headerFilled == HEADER) {
            headerFilled = 0;
            stream = header[0] == 2 ? StdStream.STDERR : StdStream.STDOUT;
            payloadLeft = ((header[4] & 0xffL) << 24) | ((header[5] & 0xff) << 16) | ((header[6] & 0xff) << 8) | (header[7] & 0xff);
          }
          continue;
        }
        int take = (int) Math.min(payloadLeft, end - pos);
        if (scratch.length < take) {
          scratch = new byte[Math.min(Math.max(take, 2 * scratch.length), 1 << 20)];
          take = Math.min(take, scratch.length);
        }
        buffer.getBytes(pos, pos + take, scratch, 0);
        pos += take;
        payloadLeft -= take;
        sink.frame(stream, scratch, 0, take);
      }
    }
  }
}
