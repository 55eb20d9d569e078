package dev.oz.worker.hosted;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.util.Map;
import java.util.concurrent.TimeoutException;

/** One bounded POST on the worker's shared Vert.x client: no redirects, a whole-call timeout, a capped body. */
final class HttpCall {
  /** The status and at most {@code maxBody} bytes of the body. */
  record Response(int status, String statusMessage, Buffer body) {
    boolean ok() {
      return status / 100 == 2;
    }
  }

  private HttpCall() {
  }

  static Future<Response> post(Vertx vertx, HttpClient client, String url, Map<String, String> headers, Buffer body,
      long timeoutMs, int maxBody) {
    Promise<Response> result = Promise.promise();
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setAbsoluteURI(url)
        .setFollowRedirects(false).setConnectTimeout(timeoutMs);
    headers.forEach(options::putHeader);
    long[] timer = {-1};
    client.request(options).onFailure(result::tryFail).onSuccess(req -> {
      timer[0] = vertx.setTimer(Math.max(1, timeoutMs), id -> {
        req.reset(0, new TimeoutException("no answer within " + timeoutMs + " ms"));
        result.tryFail(new TimeoutException("no answer within " + timeoutMs + " ms"));
      });
      req.send(body).onFailure(result::tryFail).onSuccess(resp -> {
        Buffer received = Buffer.buffer();
        resp.handler(chunk -> {
          int room = maxBody - received.length();
          if (room > 0) {
            received.appendBuffer(chunk.length() <= room ? chunk : chunk.getBuffer(0, room));
          }
        });
        resp.exceptionHandler(result::tryFail);
        resp.endHandler(v -> result.tryComplete(new Response(resp.statusCode(), resp.statusMessage(), received)));
      });
    });
    return result.future().andThen(ar -> vertx.cancelTimer(timer[0]));
  }
}
