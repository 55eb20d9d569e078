package dev.oz.worker.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.GZIPInputStream;

/**
 * Hosted Oz's HTTP side on loopback, for tests: answers the task identity mutation on {@code /graphql/v2} with a
 * token of its own, records {@code client-events} posts, and is an OTLP/HTTP log collector on any path ending in
 * {@code /v1/logs} (decoded with the OpenTelemetry protobuf classes). The collector can refuse the next exports with
 * a status, or never answer.
 */
public final class HostedOzServer implements AutoCloseable {
  /** One HTTP request as received. */
  public record Request(String method, String path, Map<String, String> headers, byte[] body, long atNanos) {
    public JsonObject json() {
      return new JsonObject(new String(body, StandardCharsets.UTF_8));
    }
  }

  /** One log record with its resource and scope, the request's bearer, and when it arrived. */
  public record ReceivedLog(Map<String, String> resource, String scope, String body, String severityText,
      Map<String, Object> attributes, String authorization, long atNanos) {
  }

  private final HttpServer server;
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  private final List<ReceivedLog> logs = new CopyOnWriteArrayList<>();
  private final ConcurrentLinkedQueue<Integer> nextLogStatuses = new ConcurrentLinkedQueue<>();
  private final List<HttpExchange> hanging = new CopyOnWriteArrayList<>();
  private final AtomicInteger tokensIssued = new AtomicInteger();
  private volatile boolean hang;

  private HostedOzServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::handle);
    server.setExecutor(executor);
    server.start();
  }

  public static HostedOzServer start() throws IOException {
    return new HostedOzServer();
  }

  /** A collector that takes requests and never answers them. */
  public static HostedOzServer hanging() throws IOException {
    HostedOzServer s = new HostedOzServer();
    s.hang = true;
    return s;
  }

  public String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** The token issued by the {@code n}th mutation (1-based). */
  public static String token(int n) {
    return "issued-otel-token-" + n;
  }

  /** The next {@code count} log exports are answered with {@code status}. */
  public void refuseLogs(int count, int status) {
    for (int i = 0; i < count; i++) {
      nextLogStatuses.add(status);
    }
  }

  private void handle(HttpExchange exchange) throws IOException {
    Map<String, String> headers = new LinkedHashMap<>();
    exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(java.util.Locale.ROOT), String.join(",", v)));
    byte[] body;
    try (InputStream in = "gzip".equals(headers.get("content-encoding"))
        ? new GZIPInputStream(exchange.getRequestBody()) : exchange.getRequestBody()) {
      body = in.readAllBytes();
    }
    long at = System.nanoTime();
    String path = exchange.getRequestURI().getPath();
    requests.add(new Request(exchange.getRequestMethod(), path, headers, body, at));
    if (hang) {
      hanging.add(exchange);
      return;
    }
    if (path.equals("/graphql/v2")) {
      int n = tokensIssued.incrementAndGet();
      JsonObject answer = new JsonObject().put("data", new JsonObject().put("issueTaskIdentityToken", new JsonObject()
          .put("__typename", "IssueTaskIdentityTokenOutput").put("token", token(n))
          .put("expiresAt", Instant.now().plusSeconds(3 * 3600).toString())));
      respond(exchange, 200, answer.encode().getBytes(StandardCharsets.UTF_8), "application/json");
    } else if (path.endsWith("/v1/logs")) {
      Integer refusal = nextLogStatuses.poll();
      if (refusal != null) {
        respond(exchange, refusal, "collector busy".getBytes(StandardCharsets.UTF_8), "text/plain");
        return;
      }
      record(ExportLogsServiceRequest.parseFrom(body), headers.get("authorization"), at);
      respond(exchange, 200, new byte[0], "application/x-protobuf");
    } else if (path.startsWith("/api/v1/agent/runs/") && path.endsWith("/client-events")) {
      respond(exchange, 200, "{}".getBytes(StandardCharsets.UTF_8), "application/json");
    } else {
      respond(exchange, 404, new byte[0], "text/plain");
    }
  }

  private void record(ExportLogsServiceRequest request, String authorization, long at) {
    for (ResourceLogs rl : request.getResourceLogsList()) {
      Map<String, String> resource = new LinkedHashMap<>();
      rl.getResource().getAttributesList().forEach(kv -> resource.put(kv.getKey(), String.valueOf(value(kv.getValue()))));
      for (ScopeLogs sl : rl.getScopeLogsList()) {
        for (LogRecord r : sl.getLogRecordsList()) {
          Map<String, Object> attributes = new LinkedHashMap<>();
          for (KeyValue kv : r.getAttributesList()) {
            attributes.put(kv.getKey(), value(kv.getValue()));
          }
          logs.add(new ReceivedLog(resource, sl.getScope().getName(), r.getBody().getStringValue(), r.getSeverityText(),
              attributes, authorization, at));
        }
      }
    }
  }

  private static Object value(AnyValue v) {
    return switch (v.getValueCase()) {
      case STRING_VALUE -> v.getStringValue();
      case BOOL_VALUE -> v.getBoolValue();
      case INT_VALUE -> v.getIntValue();
      case DOUBLE_VALUE -> v.getDoubleValue();
      default -> v.toString();
    };
  }

  private static void respond(HttpExchange exchange, int status, byte[] body, String type) throws IOException {
    exchange.getResponseHeaders().add("Content-Type", type);
    exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  public List<Request> requests() {
    return List.copyOf(requests);
  }

  public List<Request> requests(String pathEnding) {
    return requests.stream().filter(r -> r.path().endsWith(pathEnding)).toList();
  }

  /** Every log record received, in arrival order. */
  public List<ReceivedLog> logs() {
    return List.copyOf(logs);
  }

  /** The bodies of the records of task {@code runId} whose {@code log.source} is {@code source}. */
  public List<String> bodies(String runId, String source) {
    List<String> out = new ArrayList<>();
    for (ReceivedLog l : logs) {
      if (runId.equals(l.resource().get("run_id")) && source.equals(l.attributes().get("log.source"))) {
        out.add(l.body());
      }
    }
    return out;
  }

  /** The {@code client-events} bodies posted for task {@code taskId}. */
  public List<JsonObject> clientEvents(String taskId) {
    return requests("/api/v1/agent/runs/" + taskId + "/client-events").stream().map(Request::json).toList();
  }

  @Override
  public void close() {
    server.stop(0);
    hanging.forEach(HttpExchange::close);
    executor.shutdownNow();
  }
}
