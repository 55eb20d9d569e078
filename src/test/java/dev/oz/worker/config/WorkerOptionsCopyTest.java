package dev.oz.worker.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The options copy every worker makes of what it was given, and the defaults of a configuration without keys, both
 * made without the JSON binder: they hold exactly what the binder's round trip would.
 */
class WorkerOptionsCopyTest {
  private static final Map<String, String> ENV = Map.of("FROM_HOST", "host-value");

  /** Every block set away from its defaults, validated (endpoint, warnings and "auto" streaming settled). */
  private static WorkerOptions configured() {
    JsonObject json = new JsonObject()
        .put("api_key", "secret-key")
        .put("worker_id", "w1")
        .put("ws_url", "ws://cp.example:8080/api/v1/selfhosted/worker/ws")
        .put("max_concurrent_tasks", 3)
        .put("cleanup", false)
        .put("log_level", "debug")
        .put("shutdown_grace_period", "90s")
        .put("task_timeout", "1h30m")
        .put("environment", new JsonArray().add(new JsonObject().put("name", "A").put("value", "1"))
            .add(new JsonObject().put("name", "FROM_HOST")))
        .put("docker", new JsonObject().put("pull_policy", new JsonArray().add("never"))
            .put("volumes", new JsonArray().add("/data:/data:ro")))
        .put("logs", new JsonObject().put("stream", false).put("chunk_bytes", 4096).put("flush_interval", "40ms"))
        .put("metrics", new JsonObject().put("port", 0).put("status_token", "tok"))
        .put("telemetry", new JsonObject().put("OTEL_METRICS_EXPORTER", "prometheus"))
        .put("connection", new JsonObject().put("ping_interval", "5s").put("outbox_limit", 7));
    return WorkerOptions.fromJson(json, ENV).validate();
  }

  @Test
  void aCopyHoldsEverySettingAndWhatValidationSettled() {
    WorkerOptions original = configured();
    WorkerOptions copy = new WorkerOptions(original);
    assertEquals(original.toJson(), copy.toJson());
    // what the binder's round trip gives, from the settings alone
    assertEquals(WorkerOptions.fromJson(original.toJson(), ENV).toJson(), copy.toJson());
    assertEquals(original.getEndpoint(), copy.getEndpoint());
    assertEquals(original.getApiKeySource(), copy.getApiKeySource());
    assertEquals(original.getWarnings(), copy.getWarnings());
    assertEquals(original.getHostEnv(), copy.getHostEnv());
    assertEquals(original.getLogs().isStream(), copy.getLogs().isStream());
    assertEquals(original.toString(), copy.toString());
  }

  @Test
  void aCopyIsIndependentOfItsOriginal() {
    WorkerOptions original = configured();
    JsonObject before = original.toJson();
    WorkerOptions copy = new WorkerOptions(original);
    copy.getLogs().setChunkBytes(8192);
    copy.getMetrics().setPort(9999);
    copy.getTelemetry().set("OTEL_TRACES_EXPORTER", "otlp");
    copy.getConnection().setOutboxLimit(99);
    copy.backendBlock("docker").put("volumes", new JsonArray());
    copy.putEnv(new EnvEntry("B", "2"));
    copy.setWorkerId("w2");
    assertEquals(before, original.toJson());
    assertNotEquals(before, copy.toJson());
  }

  @Test
  void noKeysGiveTheBindersDefaults() {
    WorkerOptions fromNothing = WorkerOptions.fromJson(new JsonObject(), ENV);
    WorkerOptions bound = ConfigJson.read(new JsonObject(), WorkerOptions.class, "", ENV);
    assertEquals(bound.toJson(), fromNothing.toJson());
    assertEquals(ENV, fromNothing.getHostEnv());
  }
}
