package dev.oz.worker.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.zip.GZIPInputStream;

/**
 * An OTLP/HTTP collector on loopback for tests: decodes {@code /v1/metrics} and {@code /v1/traces} requests with
 * the OpenTelemetry protobuf classes. It can also answer with an error status, or never answer at all.
 */
public final class OtlpReceiver implements AutoCloseable {
  /** How the receiver answers. */
  private enum Mode { ACCEPT, HANG, REFUSE }

  private final HttpServer server;
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final List<ExportMetricsServiceRequest> metrics = new CopyOnWriteArrayList<>();
  private final List<ExportTraceServiceRequest> traces = new CopyOnWriteArrayList<>();
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private final List<String> authorizations = new CopyOnWriteArrayList<>();
  private final List<HttpExchange> hanging = new CopyOnWriteArrayList<>();
  private final Mode mode;
  private final int refusalStatus;

  private OtlpReceiver(Mode mode, int refusalStatus) throws IOException {
    this.mode = mode;
    this.refusalStatus = refusalStatus;
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::handle);
    server.setExecutor(executor);
    server.start();
  }

  public static OtlpReceiver start() throws IOException {
    return new OtlpReceiver(Mode.ACCEPT, 200);
  }

  /** Accepts connections and requests, and never answers. */
  public static OtlpReceiver hanging() throws IOException {
    return new OtlpReceiver(Mode.HANG, 0);
  }

  /** Answers every export with {@code status} (say 401, for a wrong token). */
  public static OtlpReceiver refusing(int status) throws IOException {
    return new OtlpReceiver(Mode.REFUSE, status);
  }

  /** For {@code OTEL_EXPORTER_OTLP_ENDPOINT}. */
  public String endpoint() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  private void handle(HttpExchange exchange) throws IOException {
    String path = exchange.getRequestURI().getPath();
    requests.add(exchange.getRequestMethod() + " " + path);
    String authorization = exchange.getRequestHeaders().getFirst("Authorization");
    if (authorization != null) {
      authorizations.add(authorization);
    }
    if (mode == Mode.HANG) {
      hanging.add(exchange); // no answer, connection left open
      return;
    }
    if (mode == Mode.REFUSE) {
      exchange.getRequestBody().readAllBytes();
      exchange.sendResponseHeaders(refusalStatus, -1);
      exchange.close();
      return;
    }
    byte[] body;
    try (InputStream in = "gzip".equals(exchange.getRequestHeaders().getFirst("Content-Encoding"))
        ? new GZIPInputStream(exchange.getRequestBody()) : exchange.getRequestBody()) {
      body = in.readAllBytes();
    }
    int status = 200;
    switch (path) {
      case "/v1/metrics" -> metrics.add(ExportMetricsServiceRequest.parseFrom(body));
      case "/v1/traces" -> traces.add(ExportTraceServiceRequest.parseFrom(body));
      default -> status = 404;
    }
    // an empty Export*ServiceResponse is zero bytes of protobuf
    exchange.getResponseHeaders().add("Content-Type", "application/x-protobuf");
    exchange.sendResponseHeaders(status, -1);
    try (OutputStream out = exchange.getResponseBody()) {
      out.flush();
    }
  }

  /** Every request line received, in order ({@code POST /v1/metrics}). */
  public List<String> requests() {
    return List.copyOf(requests);
  }

  /** The {@code Authorization} header of each request that had one. */
  public List<String> authorizations() {
    return List.copyOf(authorizations);
  }

  public List<ExportMetricsServiceRequest> metricsRequests() {
    return List.copyOf(metrics);
  }

  /** The most recent export of metric {@code name} (cumulative, so it holds the latest totals). */
  public Optional<Metric> latest(String name) {
    List<ExportMetricsServiceRequest> all = metricsRequests();
    for (int i = all.size() - 1; i >= 0; i--) {
      for (ResourceMetrics rm : all.get(i).getResourceMetricsList()) {
        for (ScopeMetrics sm : rm.getScopeMetricsList()) {
          for (Metric m : sm.getMetricsList()) {
            if (m.getName().equals(name)) {
              return Optional.of(m);
            }
          }
        }
      }
    }
    return Optional.empty();
  }

  /** Every span received, with its scope and resource. */
  public List<ReceivedSpan> spans() {
    List<ReceivedSpan> out = new ArrayList<>();
    for (ExportTraceServiceRequest r : traces) {
      for (ResourceSpans rs : r.getResourceSpansList()) {
        for (ScopeSpans ss : rs.getScopeSpansList()) {
          for (Span s : ss.getSpansList()) {
            out.add(new ReceivedSpan(rs.getResource(), ss.getScope().getName(), s));
          }
        }
      }
    }
    return out;
  }

  public record ReceivedSpan(Resource resource, String scope, Span span) {
  }

  @Override
  public void close() {
    server.stop(0);
    for (HttpExchange e : hanging) {
      e.close();
    }
    executor.shutdownNow();
  }
}
