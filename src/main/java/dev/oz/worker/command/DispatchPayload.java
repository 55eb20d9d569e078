package dev.oz.worker.command;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.oz.worker.backend.TaskDescription;
import dev.oz.worker.backend.TaskDescription.SidecarMount;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.TreeMap;

/**
 * The versioned JSON a dispatch command reads on stdin, field for field the Go worker's {@code DispatchPayload}
 * (version 1): every field always present (no omit-empty), {@code env} as a map with sorted keys (a later entry of
 * the same name wins), {@code sidecars} {@code null} when there are none, {@code task} as the Go worker re-encodes
 * it. Task secrets travel only here, never in the command's environment or arguments.
 */
final class DispatchPayload {
  static final int VERSION = 1;
  /** The Go worker's image when the assignment names none. */
  static final String DEFAULT_IMAGE = "ubuntu:22.04";
  private static final JsonFactory JSON = new JsonFactory();

  private DispatchPayload() {
  }

  static String dockerImage(TaskDescription task) {
    return task.image() != null ? task.image() : DEFAULT_IMAGE;
  }

  static byte[] encode(TaskDescription task, String serverRootUrl, String workerId) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeNumberField("version", VERSION);
      g.writeStringField("run_id", task.taskId());
      g.writeStringField("execution_id", nullToEmpty(task.executionId()));
      g.writeStringField("server_root_url", nullToEmpty(serverRootUrl));
      g.writeStringField("worker_id", nullToEmpty(workerId));
      g.writeStringField("docker_image", dockerImage(task));
      g.writeArrayFieldStart("base_args");
      for (String a : task.agentArgs()) {
        g.writeString(a);
      }
      g.writeEndArray();
      Map<String, String> env = new TreeMap<>();
      task.env().forEach(e -> env.put(e.name(), e.value()));
      g.writeObjectFieldStart("env");
      for (Map.Entry<String, String> e : env.entrySet()) {
        g.writeStringField(e.getKey(), e.getValue());
      }
      g.writeEndObject();
      g.writeFieldName("sidecars");
      if (task.sidecars().isEmpty()) {
        g.writeNull();
      } else {
        g.writeStartArray();
        for (SidecarMount s : task.sidecars()) {
          g.writeStartObject();
          g.writeStringField("image", s.image());
          g.writeStringField("mount_path", s.mountPath());
          g.writeBooleanField("read_write", s.readWrite());
          g.writeEndObject();
        }
        g.writeEndArray();
      }
      g.writeFieldName("task");
      if (task.taskJson() == null) {
        g.writeNull();
      } else {
        g.writeRawValue(task.taskJson());
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }
}
