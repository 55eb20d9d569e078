package dev.oz.worker.hosted;

import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.common.export.HttpResponse;
import io.opentelemetry.sdk.common.export.HttpSender;
import io.opentelemetry.sdk.common.export.HttpSenderConfig;
import io.opentelemetry.sdk.common.export.HttpSenderProvider;
import io.opentelemetry.sdk.common.export.MessageWriter;
import io.vertx.core.buffer.Buffer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The OpenTelemetry exporter's transport on the worker's Vert.x HTTP client, instead of the SDK's JDK sender (which
 * would hold an HTTP client with its own selector thread, and a pooled thread per request, for every task). The
 * exporter encodes the request; this only sends it, without redirects or retries, within the exporter's timeout. A
 * refused export is passed on without the collector's answer, which could echo task output unredacted.
 */
final class CollectorSender implements HttpSender {
  private final HostedOz hosted;
  private final HttpSenderConfig config;

  private CollectorSender(HostedOz hosted, HttpSenderConfig config) {
    this.hosted = hosted;
    this.config = config;
  }

  /** Senders on {@code hosted}'s client, for {@code setComponentLoader}. */
  static HttpSenderProvider provider(HostedOz hosted) {
    return config -> new CollectorSender(hosted, config);
  }

  @Override
  public void send(MessageWriter writer, Consumer<HttpResponse> onResponse, Consumer<Throwable> onError) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(64, writer.getContentLength()));
    try {
      writer.writeMessage(out);
    } catch (IOException | RuntimeException e) {
      onError.accept(e);
      return;
    }
    Map<String, String> headers = new LinkedHashMap<>();
    Map<String, List<String>> supplied = config.getHeadersSupplier() == null ? null : config.getHeadersSupplier().get();
    if (supplied != null) {
      supplied.forEach((k, v) -> {
        if (!v.isEmpty()) {
          headers.put(k, String.join(",", v));
        }
      });
    }
    headers.put("Content-Type", config.getContentType());
    HttpCall.post(hosted.vertx(), hosted.client(), config.getEndpoint().toString(), headers,
            Buffer.buffer(out.toByteArray()), config.getTimeout().toMillis(), 0)
        .onSuccess(resp -> onResponse.accept(new Answer(resp.status(), resp.statusMessage())))
        .onFailure(onError::accept);
  }

  @Override
  public CompletableResultCode shutdown() {
    return CompletableResultCode.ofSuccess(); // the client is the worker's
  }

  private record Answer(int status, String message) implements HttpResponse {
    @Override
    public int getStatusCode() {
      return status;
    }

    @Override
    public String getStatusMessage() {
      return message;
    }

    @Override
    public byte[] getResponseBody() {
      return new byte[0];
    }
  }
}
