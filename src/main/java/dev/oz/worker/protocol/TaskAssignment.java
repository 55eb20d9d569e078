package dev.oz.worker.protocol;

import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.JsonTypeName;
import com.fasterxml.jackson.annotation.Nulls;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * {@code task_assignment}: a task for this worker. Absent lists and maps are empty; {@code envVars} keeps the
 * order the server sent; a {@code task} without an id takes the assignment's {@code task_id}.
 */
@JsonTypeName("task_assignment")
public record TaskAssignment(
    String taskId,
    @OmitEmpty String executionId,
    Task task,
    @OmitEmpty String dockerImage,
    @OmitEmpty String sidecarImage,
    @OmitEmpty @JsonSetter(contentNulls = Nulls.AS_EMPTY) Map<String, String> envVars,
    @OmitEmpty List<SidecarRequest> additionalSidecars,
    @OmitEmpty @JsonSetter(contentNulls = Nulls.AS_EMPTY) List<String> additionalOzArgs,
    @OmitNull InstanceShape instanceShape,
    @OmitNull TelemetryCollection telemetryCollection) implements ServerMessage {

  public TaskAssignment {
    envVars = Objects.requireNonNullElse(envVars, Map.of());
    additionalSidecars = Objects.requireNonNullElse(additionalSidecars, List.of());
    additionalOzArgs = Objects.requireNonNullElse(additionalOzArgs, List.of());
    if (task != null && (task.id() == null || task.id().isEmpty())) {
      task = task.withId(taskId);
    }
  }

  /** {@code {image, mount_path, read_write}} from {@code additional_sidecars}. */
  public record SidecarRequest(String image, String mountPath, boolean readWrite) {
  }

  /** {@code instance_shape}; zero or negative means no limit on that axis. */
  public record InstanceShape(@OmitEmpty long vcpus, @OmitEmpty long memoryGb) {
  }

  /** {@code telemetry_collection} (newer Go): where and whether the task's traces and logs go. */
  public record TelemetryCollection(String endpoint, boolean tracingEnabled, boolean loggingEnabled,
      @OmitNull BootstrapToken bootstrapToken) {
  }

  /** A short-lived credential for the telemetry endpoint: never printed. */
  public record BootstrapToken(String token, String expiresAt) {
    @Override
    public String toString() {
      return "BootstrapToken[token=[REDACTED], expiresAt=" + expiresAt + "]";
    }
  }

  /** Never prints environment values: they are secrets. */
  @Override
  public String toString() {
    return "TaskAssignment[taskId=" + taskId + ", executionId=" + executionId + ", image=" + dockerImage
        + ", sidecar=" + sidecarImage + ", env=" + envVars.keySet() + "]";
  }
}
