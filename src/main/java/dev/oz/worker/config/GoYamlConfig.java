package dev.oz.worker.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The Go worker's {@code --config-file} YAML, read with its schema: unknown keys are errors (with the line),
 * and at most one backend block may be present. Translated onto the JSON config keys.
 */
final class GoYamlConfig {

  record File(
      @JsonProperty("worker_id") String workerId,
      @JsonProperty("cleanup") Boolean cleanup,
      @JsonProperty("max_concurrent_tasks") Integer maxConcurrentTasks,
      @JsonProperty("idle_on_complete") String idleOnComplete,
      @JsonProperty("backend") Backend backend) {
  }

  record Backend(
      @JsonProperty("docker") Docker docker,
      @JsonProperty("direct") Map<String, Object> direct,
      @JsonProperty("kubernetes") Map<String, Object> kubernetes,
      @JsonProperty("command") Map<String, Object> command) {
  }

  record Docker(
      @JsonProperty("volumes") List<String> volumes,
      @JsonProperty("environment") List<Env> environment,
      @JsonProperty("pull_policy") List<String> pullPolicy,
      @JsonProperty("image_pull_policy") String imagePullPolicy) {
  }

  record Env(@JsonProperty(value = "name", required = true) String name, @JsonProperty("value") String value) {
  }

  private GoYamlConfig() {
  }

  static JsonObject read(Path path, Map<String, String> hostEnv) {
    String text = ConfigFiles.read(path);
    File file;
    try {
      file = text.isBlank() ? null : ConfigFiles.YAML.readValue(text, File.class);
    } catch (JsonProcessingException e) {
      throw ConfigFiles.syntaxError(path.toString(), e);
    }
    return file == null ? new JsonObject() : translate(path, file, hostEnv);
  }

  private static JsonObject translate(Path path, File file, Map<String, String> hostEnv) {
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
    Backend backend = file.backend();
    if (backend == null) {
      return json;
    }
    int blocks = (backend.docker() != null ? 1 : 0) + (backend.direct() != null ? 1 : 0)
        + (backend.kubernetes() != null ? 1 : 0) + (backend.command() != null ? 1 : 0);
    if (blocks > 1) {
      throw new ConfigException(path + ": invalid config: at most one backend may be configured");
    }
    if (backend.direct() != null) {
      json.put("backend", "direct");
    } else if (backend.kubernetes() != null) {
      json.put("backend", "kubernetes");
    } else if (backend.command() != null) {
      json.put("backend", "command");
    } else if (backend.docker() != null) {
      json.put("backend", WorkerOptions.DOCKER_BACKEND);
      json.put("docker", docker(path, backend.docker(), hostEnv));
    }
    return json;
  }

  private static JsonObject docker(Path path, Docker docker, Map<String, String> hostEnv) {
    JsonObject json = new JsonObject();
    if (docker.volumes() != null) {
      json.put("volumes", new JsonArray(List.copyOf(docker.volumes())));
    }
    if (docker.environment() != null) {
      JsonArray env = new JsonArray();
      for (int i = 0; i < docker.environment().size(); i++) {
        Env e = docker.environment().get(i);
        String setting = path + ": backend.docker.environment[" + i + "]";
        JsonObject entry = new JsonObject().put("name", e.name());
        if (e.value() != null) {
          entry.put("value", e.value());
        }
        EnvEntry.fromJson(setting, entry, hostEnv);
        env.add(entry);
      }
      json.put("environment", env);
    }
    if (docker.pullPolicy() != null) {
      json.put("pull_policy", new JsonArray(List.copyOf(docker.pullPolicy())));
    } else if (docker.imagePullPolicy() != null) {
      json.put("pull_policy", new JsonArray().add(docker.imagePullPolicy()));
    }
    return json;
  }
}
