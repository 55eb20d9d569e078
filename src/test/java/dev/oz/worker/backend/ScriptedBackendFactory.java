package dev.oz.worker.backend;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.oz.worker.config.ConfigException;
import dev.oz.worker.config.ConfigJson;
import dev.oz.worker.config.GoYamlBlock;
import dev.oz.worker.protocol.FailureReason;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A backend that exists only in the test tree, registered through {@code META-INF/services} there: it proves that a
 * backend is one package plus one registration. Each task prints {@code output} (with the task id) on stdout, then ends
 * with {@code exit_code} (0 succeeds) after {@code delay}.
 */
public final class ScriptedBackendFactory implements BackendFactory<ScriptedBackendFactory.Settings> {

  /** {@code -conf} block {@code "scripted": {"output", "exit_code", "delay"}}. */
  public record Settings(String output, int exitCode, Duration delay) {
    @JsonCreator
    public Settings {
      output = output == null ? "hello" : output;
      delay = delay == null ? Duration.ZERO : delay;
    }
  }

  /** The YAML {@code backend.scripted} block, with Go-style keys of its own. */
  record YamlBlock(@JsonProperty("output") String output, @JsonProperty("exit_code") Integer exitCode) {
  }

  @Override
  public String name() {
    return "scripted";
  }

  @Override
  public List<Flag> flags() {
    return List.of(new Flag(List.of("--scripted-delay"), "DURATION", "How long each scripted task runs",
        (block, v) -> block.put("delay", v)));
  }

  @Override
  public JsonObject fromGoYaml(GoYamlBlock yaml, Map<String, String> hostEnv) {
    YamlBlock b = yaml.bind(YamlBlock.class);
    JsonObject json = new JsonObject();
    if (b.output() != null) {
      json.put("output", b.output());
    }
    if (b.exitCode() != null) {
      json.put("exit_code", b.exitCode());
    }
    return json;
  }

  @Override
  public Settings options(JsonObject block, Map<String, String> hostEnv) {
    Settings settings = ConfigJson.read(block, Settings.class, name(), hostEnv);
    if (settings.exitCode() < 0) {
      throw new ConfigException("scripted.exit_code must not be negative");
    }
    return settings;
  }

  @Override
  public BackendCapabilities capabilities(Settings options) {
    return BackendCapabilities.local(Duration.ofSeconds(1));
  }

  @Override
  public TaskBackend create(BackendContext<Settings> context) {
    Settings s = context.options();
    return new TaskBackend() {
      @Override
      public Future<TaskOutcome> execute(TaskDescription task, TaskOutput output) {
        byte[] line = (s.output() + " from " + task.taskId() + "\n").getBytes(StandardCharsets.UTF_8);
        output.write(StdStream.STDOUT, line, 0, line.length);
        return context.vertx().timer(Math.max(1, s.delay().toMillis())).map(v -> {
          output.end();
          return s.exitCode() == 0 ? TaskOutcome.succeeded()
              : TaskOutcome.failed(FailureReason.CONTAINER_EXIT, "scripted exit " + s.exitCode(), s.exitCode());
        });
      }

      @Override
      public Future<Void> cancel(String taskId, CancelReason reason) {
        return Future.succeededFuture();
      }

      @Override
      public Future<Void> shutdown() {
        return Future.succeededFuture();
      }
    };
  }
}
