package dev.oz.worker.docker;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.oz.worker.backend.BackendCapabilities;
import dev.oz.worker.backend.BackendContext;
import dev.oz.worker.backend.BackendFactory;
import dev.oz.worker.backend.TaskBackend;
import dev.oz.worker.config.EnvEntry;
import dev.oz.worker.config.GoYamlBlock;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;

/** The {@code docker} backend: its settings ({@code docker} block, {@code backend.docker} in YAML, flags) and its creation. */
public final class DockerBackendFactory implements BackendFactory<DockerOptions> {
  public static final String NAME = "docker";

  /** The Go worker's {@code backend.docker} schema (plus {@code pull_policy}, a list of ours). */
  record GoDockerBlock(
      @JsonProperty("volumes") List<String> volumes,
      @JsonProperty("environment") List<GoEnv> environment,
      @JsonProperty("pull_policy") List<String> pullPolicy,
      @JsonProperty("image_pull_policy") String imagePullPolicy,
      @JsonProperty("sidecar_image") String sidecarImage) {
  }

  record GoEnv(@JsonProperty(value = "name", required = true) String name, @JsonProperty("value") String value) {
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public List<Flag> flags() {
    return List.of(
        new Flag(List.of("-v", "--volumes"), "HOST:CONTAINER[:MODE]", "Volume mount for task containers (repeatable)",
            (block, v) -> list(block, "volumes").add(v)),
        new Flag(List.of("--pull-policy"), "POLICY[,POLICY]",
            "Image pull policy: always, if-not-present, never, or fallbacks in order (default always,if-not-present)",
            (block, v) -> block.put("pull_policy", new JsonArray().add(v))));
  }

  private static JsonArray list(JsonObject block, String key) {
    if (!(block.getValue(key) instanceof JsonArray)) {
      block.put(key, new JsonArray());
    }
    return block.getJsonArray(key);
  }

  @Override
  public JsonObject fromGoYaml(GoYamlBlock yaml, Map<String, String> hostEnv) {
    GoDockerBlock docker = yaml.bind(GoDockerBlock.class);
    JsonObject json = new JsonObject();
    if (docker.volumes() != null) {
      json.put("volumes", new JsonArray(List.copyOf(docker.volumes())));
    }
    if (docker.environment() != null) {
      JsonArray env = new JsonArray();
      for (int i = 0; i < docker.environment().size(); i++) {
        GoEnv e = docker.environment().get(i);
        JsonObject entry = new JsonObject().put("name", e.name());
        if (e.value() != null) {
          entry.put("value", e.value());
        }
        EnvEntry.fromJson(yaml.setting("environment[" + i + "]"), entry, hostEnv);
        env.add(entry);
      }
      json.put("environment", env);
    }
    if (docker.pullPolicy() != null) {
      json.put("pull_policy", new JsonArray(List.copyOf(docker.pullPolicy())));
    } else if (docker.imagePullPolicy() != null) {
      json.put("pull_policy", new JsonArray().add(docker.imagePullPolicy()));
    }
    if (docker.sidecarImage() != null) {
      json.put("sidecar_image", docker.sidecarImage());
    }
    return json;
  }

  @Override
  public DockerOptions options(JsonObject block, Map<String, String> hostEnv) {
    return DockerOptions.fromJson(block, hostEnv);
  }

  @Override
  public TaskBackend create(BackendContext<DockerOptions> context) {
    return new DockerBackend(context);
  }

  @Override
  public BackendCapabilities capabilities(DockerOptions options) {
    return BackendCapabilities.local(options.getCancelGracePeriod());
  }
}
