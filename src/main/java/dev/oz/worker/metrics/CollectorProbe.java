package dev.oz.worker.metrics;

import io.netty.channel.ConnectTimeoutException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;

/** Whether anything listens at a collector's address: one TCP connection, closed at once. */
final class CollectorProbe {
  static final int CONNECT_TIMEOUT_MS = 500;

  private CollectorProbe() {
  }

  /**
   * False only when the address certainly has no listener (connection refused, unknown host); an address that is
   * slow to answer or cannot be read counts as listening, so the last export still gets its full wait. Never fails.
   */
  static Future<Boolean> listens(Vertx vertx, String url) {
    String host;
    int port;
    try {
      URI u = URI.create(url);
      host = u.getHost();
      port = u.getPort() != -1 ? u.getPort() : "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
    } catch (IllegalArgumentException e) {
      return Future.succeededFuture(true);
    }
    if (host == null) {
      return Future.succeededFuture(true);
    }
    NetClient client = vertx.createNetClient(new NetClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MS));
    return client.connect(port, host)
        .compose(socket -> socket.close().transform(ar -> Future.succeededFuture(true)),
            err -> Future.succeededFuture(!refused(err)))
        .eventually(() -> client.close());
  }

  private static boolean refused(Throwable err) {
    // Netty's connect timeout is a ConnectException too, but says nothing about a listener
    return (err instanceof ConnectException && !(err instanceof ConnectTimeoutException))
        || err instanceof UnknownHostException;
  }
}
