package dev.oz.worker.hosted;

import dev.oz.worker.backend.SetupEvent;
import io.opentelemetry.api.metrics.MeterProvider;
import io.opentelemetry.common.ComponentLoader;
import io.opentelemetry.exporter.otlp.http.logs.OtlpHttpLogRecordExporter;
import io.opentelemetry.sdk.common.export.HttpSenderProvider;
import io.opentelemetry.sdk.logs.export.LogRecordExporter;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hosted Oz's HTTP side, as a task's worker talks to it (GO-WORKER-NEWER.md sections 3 and 4): the task identity
 * token for the log collector, and setup events. One per worker, on one Vert.x HTTP client; every call is bounded
 * (5 s) and asynchronous. Credentials and tokens are never logged.
 */
public final class HostedOz {
  private static final Logger log = LoggerFactory.getLogger(HostedOz.class);
  static final long TIMEOUT_MS = 5_000;
  static final int MAX_TOKEN_RESPONSE = 64 * 1024;
  static final int MAX_ERROR_BODY = 512;
  public static final String TOKEN_AUDIENCE = "warp-cloud-agent-otel";
  public static final long TOKEN_SECONDS = 10_800;
  public static final String TOKEN_MUTATION = "mutation WorkerLogToken($input: IssueTaskIdentityTokenInput!) {"
      + " issueTaskIdentityToken(requestContext: {osContext: {}, clientContext: {}}, input: $input) { __typename"
      + " ... on IssueTaskIdentityTokenOutput { token expiresAt } } }";

  private final Vertx vertx;
  private final HttpClient client;

  /** A token and when it stops being valid. */
  public record IssuedToken(String token, Instant expiresAt) {
    @Override
    public String toString() {
      return "IssuedToken[token=[REDACTED], expiresAt=" + expiresAt + "]";
    }
  }

  public HostedOz(Vertx vertx) {
    this.vertx = vertx;
    // many tasks may export to one collector at once: more than the default 5 connections per origin
    this.client = vertx.createHttpClient(new HttpClientOptions().setConnectTimeout((int) TIMEOUT_MS)
        .setShared(false).setName("oz-hosted"), new PoolOptions().setHttp1MaxSize(32));
  }

  public Vertx vertx() {
    return vertx;
  }

  /** The client the task-log exporter sends on. */
  public HttpClient client() {
    return client;
  }

  /** Asks for a task identity token; fails with a message that names no credential. */
  public Future<IssuedToken> issueToken(TaskIdentity task) {
    JsonObject body = new JsonObject()
        .put("query", TOKEN_MUTATION)
        .put("variables", new JsonObject().put("input", new JsonObject()
            .put("audience", TOKEN_AUDIENCE).put("requestedDurationSeconds", TOKEN_SECONDS)));
    Map<String, String> headers = new LinkedHashMap<>(task.headers(task.apiKey()));
    headers.put("Content-Type", "application/json");
    return HttpCall.post(vertx, client, task.root() + "/graphql/v2", headers, body.toBuffer(), TIMEOUT_MS,
            MAX_TOKEN_RESPONSE + 1)
        .recover(err -> Future.failedFuture("task identity request failed"))
        .compose(resp -> {
          if (resp.status() != 200) {
            return Future.failedFuture("task identity request rejected (HTTP " + resp.status() + ")");
          }
          if (resp.body().length() > MAX_TOKEN_RESPONSE) {
            return Future.failedFuture("invalid task identity response (too large)");
          }
          return parseToken(resp.body());
        });
  }

  private static Future<IssuedToken> parseToken(Buffer body) {
    JsonObject json;
    try {
      json = body.toJsonObject();
    } catch (RuntimeException e) {
      return Future.failedFuture("invalid task identity response");
    }
    Object errors = json.getValue("errors");
    JsonObject data = json.getValue("data") instanceof JsonObject d ? d : new JsonObject();
    JsonObject result = data.getValue("issueTaskIdentityToken") instanceof JsonObject r ? r : new JsonObject();
    String token = result.getValue("token") instanceof String t ? t : "";
    Instant expiresAt = null;
    if (result.getValue("expiresAt") instanceof String s) {
      try {
        expiresAt = Instant.parse(s);
      } catch (DateTimeParseException e) {
        expiresAt = null;
      }
    }
    boolean hasErrors = errors instanceof JsonArray a ? !a.isEmpty() : errors != null;
    if (hasErrors || !"IssueTaskIdentityTokenOutput".equals(result.getValue("__typename")) || token.isEmpty()
        || expiresAt == null || !expiresAt.isAfter(Instant.now())) {
      return Future.failedFuture("task identity token unavailable");
    }
    return Future.succeededFuture(new IssuedToken(token, expiresAt));
  }

  /**
   * Posts one setup phase to {@code /api/v1/agent/runs/<task id>/client-events}; best-effort: a failure is logged
   * (with at most 512 bytes of the answer), never reported to the caller.
   */
  public Future<Void> postSetupEvent(TaskIdentity task, SetupEvent event) {
    JsonObject body = clientEvent(UUID.randomUUID().toString(), event);
    Map<String, String> headers = new LinkedHashMap<>(task.headers(task.apiKey()));
    headers.put("Content-Type", "application/json");
    String url = task.root() + "/api/v1/agent/runs/" + pathEscape(task.taskId()) + "/client-events";
    return HttpCall.post(vertx, client, url, headers, body.toBuffer(), TIMEOUT_MS, MAX_ERROR_BODY)
        .compose(resp -> resp.ok() ? Future.<Void>succeededFuture()
            : Future.failedFuture("client event request returned status " + resp.status() + ": " + resp.body()))
        .onFailure(err -> log.atWarn().addKeyValue("task_id", task.taskId()).log(
            "Failed to report setup event {} for task {}: {}", event.name(), task.taskId(), err.getMessage()))
        .otherwiseEmpty();
  }

  /** The Go worker's body: whole milliseconds as a float, RFC 3339 timestamps with nanoseconds. */
  static JsonObject clientEvent(String uuid, SetupEvent event) {
    return new JsonObject()
        .put("event_uuid", uuid)
        .put("event_name", event.name())
        .put("timestamp", event.finish().toString())
        .put("payload", new JsonObject()
            .put("start_ts", event.start().toString())
            .put("finish_ts", event.finish().toString())
            .put("latency_ms", (double) Duration.between(event.start(), event.finish()).toMillis())
            .put("is_error", event.error()));
  }

  /** Go's {@code url.PathEscape}: a task id stays one path segment. */
  static String pathEscape(String segment) {
    return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /**
   * The OpenTelemetry SDK's OTLP/HTTP log exporter for one task's collector ({@code endpoint} + {@code /v1/logs}),
   * sending on this worker's client with {@code Authorization: Bearer <bearer>}; no retries of its own (the caller
   * retries whole batches), 5 s per export.
   */
  public LogRecordExporter taskLogExporter(String endpoint, Supplier<String> bearer) {
    HttpSenderProvider sender = CollectorSender.provider(this);
    return OtlpHttpLogRecordExporter.builder()
        .setEndpoint(endpoint.replaceAll("/+$", "") + "/v1/logs")
        .setTimeout(Duration.ofMillis(TIMEOUT_MS))
        .setRetryPolicy(null)
        .setHeaders(() -> Map.of("Authorization", "Bearer " + bearer.get()))
        .setMeterProvider(MeterProvider::noop)
        .setComponentLoader(new ComponentLoader() {
          @Override
          @SuppressWarnings("unchecked")
          public <T> Iterable<T> load(Class<T> spi) {
            return spi == HttpSenderProvider.class ? List.of((T) sender) : List.of();
          }
        })
        .build();
  }

  public Future<Void> close() {
    return client.close();
  }
}
