package dev.oz.worker.protocol;

import java.util.List;
import java.util.Map;

/**
 * {@code task_assignment}: a task for this worker. Optional fields are null/empty when the server omitted
 * them; {@code envVars} keeps the order the server sent.
 */
public record TaskAssignment(
    String taskId,
    String executionId,
    Task task,
    String dockerImage,
    String sidecarImage,
    Map<String, String> envVars,
    List<SidecarRequest> additionalSidecars,
    List<String> additionalOzArgs,
    InstanceShape instanceShape) implements ServerMessage {

  /** {@code {image, mount_path, read_write}} from {@code additional_sidecars}. */
  public record SidecarRequest(String image, String mountPath, boolean readWrite) {
  }

  /** {@code instance_shape}; zero means no limit. */
  public record InstanceShape(long vcpus, long memoryGb) {
    public static final InstanceShape NONE = new InstanceShape(0, 0);
  }

  /** Never prints environment values: they are secrets. */
  @Override
  public String toString() {
    return "TaskAssignment[taskId=" + taskId + ", executionId=" + executionId + ", image=" + dockerImage
        + ", sidecar=" + sidecarImage + ", env=" + envVars.keySet() + "]";
  }
}
