package dev.oz.worker.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The Go worker's {@code --config-file} YAML, read with its schema: unknown keys are errors (with the line), and at
 * most one backend block may be present. Translated onto the JSON config keys; a backend block is translated by
 * its backend ({@link BackendSettings#fromGoYaml}).
 */
final class GoYamlConfig {

  record File(
      @JsonProperty("worker_id") String workerId,
      @JsonProperty("cleanup") Boolean cleanup,
      @JsonProperty("max_concurrent_tasks") Integer maxConcurrentTasks,
      @JsonProperty("idle_on_complete") String idleOnComplete,
      @JsonProperty("one_shot") Boolean oneShot,
      @JsonProperty("collect_task_logs") Boolean collectTaskLogs,
      @JsonProperty("backend") JsonNode backend) {
  }

  private GoYamlConfig() {
  }

  static JsonObject read(Path path, Map<String, String> hostEnv, Map<String, BackendSettings> backends) {
    String text = ConfigFiles.read(path);
    GoYamlBlock whole = new GoYamlBlock(path, text, List.of());
    File file = text.isBlank() ? null : whole.bind(File.class);
    return file == null ? new JsonObject() : translate(path, whole, file, hostEnv, backends);
  }

  private static JsonObject translate(Path path, GoYamlBlock whole, File file, Map<String, String> hostEnv,
      Map<String, BackendSettings> backends) {
    JsonObject json = new JsonObject();
    if (file.workerId() != null) {
      json.put("worker_id", file.workerId());
    }
    if (file.cleanup() != null) {
      json.put("cleanup", file.cleanup());
    }
    if (file.maxConcurrentTasks() != null) {
      json.put("max_concurrent_tasks", file.maxConcurrentTasks());
    }
    if (file.idleOnComplete() != null) {
      json.put("idle_on_complete", file.idleOnComplete());
    }
    if (file.oneShot() != null) {
      json.put("one_shot", file.oneShot());
    }
    if (file.collectTaskLogs() != null) {
      json.put("collect_task_logs", file.collectTaskLogs());
    }
    JsonNode backend = file.backend();
    if (backend == null || backend.isNull()) {
      return json;
    }
    if (!backend.isObject()) {
      throw new ConfigException(path + ": backend must be a mapping of one backend name to its settings");
    }
    TreeSet<String> valid = new TreeSet<>(BackendSettings.GO_BACKENDS);
    valid.addAll(backends.keySet());
    List<String> present = new ArrayList<>();
    backend.fieldNames().forEachRemaining(name -> {
      if (!valid.contains(name)) {
        throw new ConfigException(path + ": unknown key \"" + name + "\" in backend (valid: " + String.join(", ", valid) + ")");
      }
      if (!backend.get(name).isNull()) {
        present.add(name);
      }
    });
    if (present.size() > 1) {
      throw new ConfigException(path + ": invalid config: at most one backend may be configured");
    }
    if (present.isEmpty()) {
      return json;
    }
    String name = present.get(0);
    json.put("backend", name);
    BackendSettings settings = backends.get(name);
    if (settings != null) {
      json.put(name, settings.fromGoYaml(whole.child("backend").child(name), hostEnv));
    }
    return json;
  }
}
