package dev.oz.worker.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
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
    } catch (UnrecognizedPropertyException e) {
      throw unknownKey(path, text, e);
    } catch (JsonProcessingException e) {
      throw ConfigFiles.syntaxError(path.toString(), e);
    }
    return file == null ? new JsonObject() : translate(path, file, hostEnv);
  }

  /** Names the key, where it sits, its line, and the keys that are valid there. */
  private static ConfigException unknownKey(Path path, String text, UnrecognizedPropertyException e) {
    StringBuilder pointer = new StringBuilder();
    List<String> parents = new java.util.ArrayList<>();
    for (com.fasterxml.jackson.databind.JsonMappingException.Reference ref : e.getPath()) {
      if (ref.getFieldName() != null) {
        pointer.append('/').append(ref.getFieldName());
        parents.add(ref.getFieldName());
      } else {
        pointer.append('/').append(ref.getIndex());
        parents.add("[" + ref.getIndex() + "]");
      }
    }
    parents.remove(parents.size() - 1);
    int line = lineOf(text, pointer.toString(), e.getLocation() == null ? -1 : e.getLocation().getLineNr());
    String where = parents.isEmpty() ? "" : " in " + String.join(".", parents).replace(".[", "[");
    java.util.TreeSet<String> valid = new java.util.TreeSet<>();
    e.getKnownPropertyIds().forEach(id -> valid.add(String.valueOf(id)));
    return new ConfigException(path + ": line " + line + ": unknown key \"" + e.getPropertyName() + "\"" + where
        + " (valid: " + String.join(", ", valid) + ")", e);
  }

  /** The line of the key at {@code pointer}, found by re-reading the YAML as a token stream. */
  private static int lineOf(String text, String pointer, int fallback) {
    try (com.fasterxml.jackson.core.JsonParser p = ConfigFiles.YAML.getFactory().createParser(text)) {
      com.fasterxml.jackson.core.JsonToken t;
      while ((t = p.nextToken()) != null) {
        if (t == com.fasterxml.jackson.core.JsonToken.FIELD_NAME
            && p.getParsingContext().pathAsPointer().toString().equals(pointer)) {
          return p.currentTokenLocation().getLineNr();
        }
      }
    } catch (java.io.IOException ignored) {
      // fall back to Jackson's position
    }
    return fallback;
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
