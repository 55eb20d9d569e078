package dev.oz.worker.testing;

import io.vertx.core.json.JsonObject;

/** Protocol messages a control plane sends, for tests. */
public final class Assignments {
  private Assignments() {
  }

  /** A minimal valid {@code task_assignment}. */
  public static JsonObject minimal(String taskId) {
    return envelope("task_assignment", data(taskId));
  }

  public static JsonObject data(String taskId) {
    return new JsonObject()
        .put("task_id", taskId)
        .put("task", new JsonObject()
            .put("id", taskId)
            .put("title", "Test task " + taskId)
            .put("task_definition", new JsonObject().put("prompt", "do something"))
            .put("created_at", "2026-11-24T10:00:00.123456789Z")
            .put("updated_at", "2026-11-24T10:00:01Z"));
  }

  public static JsonObject cancellation(String taskId) {
    return envelope("task_cancellation", new JsonObject().put("task_id", taskId));
  }

  public static JsonObject envelope(String type, JsonObject data) {
    return new JsonObject().put("type", type).put("data", data);
  }
}
