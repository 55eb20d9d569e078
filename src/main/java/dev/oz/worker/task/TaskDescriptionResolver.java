package dev.oz.worker.task;

import dev.oz.worker.backend.TaskDescription;
import dev.oz.worker.backend.TaskDescription.EnvVar;
import dev.oz.worker.backend.TaskDescription.Shape;
import dev.oz.worker.backend.TaskDescription.SidecarMount;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.protocol.ProtocolJson;
import dev.oz.worker.protocol.Task;
import dev.oz.worker.protocol.Task.AgentConfigSnapshot;
import dev.oz.worker.protocol.Task.AwsInference;
import dev.oz.worker.protocol.Task.RepositoryHeadOverride;
import dev.oz.worker.protocol.TaskAssignment;
import dev.oz.worker.protocol.TaskAssignment.InstanceShape;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Turns an assignment into the backend-neutral {@link TaskDescription}, following PROTOCOL.md section 4 rule by rule
 * (the argument vector, the protocol's environment, sidecars); what is a backend's own (default image, entrypoint,
 * working directory, operator environment) is left to the backend.
 */
public final class TaskDescriptionResolver {

  private final WorkerOptions options;

  public TaskDescriptionResolver(WorkerOptions options) {
    this.options = options;
  }

  public TaskDescription resolve(TaskAssignment a) {
    Task task = a.task();
    String image = a.dockerImage() == null || a.dockerImage().isBlank() ? null : a.dockerImage().strip();
    InstanceShape shape = a.instanceShape() == null ? new InstanceShape(0, 0) : a.instanceShape();
    return new TaskDescription(
        a.taskId(),
        a.executionId(),
        task.title(),
        image,
        env(a),
        agentArgs(a),
        sidecars(a),
        new Shape(Math.max(0, shape.vcpus()), Math.max(0, shape.memoryGb())),
        secrets(a),
        harness(task),
        GoTaskJson.encode(task));
  }

  /** The harness type as sent (the direct backend keys config directories on it, trimmed). */
  private static String harness(Task task) {
    AgentConfigSnapshot s = task.agentConfigSnapshot();
    return s == null || s.harness() == null ? null : s.harness().type();
  }

  private List<EnvVar> env(TaskAssignment a) {
    List<EnvVar> env = new ArrayList<>();
    env.add(new EnvVar("TASK_ID", a.task().id()));
    env.add(new EnvVar("GIT_TERMINAL_PROMPT", "0"));
    env.add(new EnvVar("GH_PROMPT_DISABLED", "1"));
    String root = options.getServerRootUrl();
    if (root != null && !root.isEmpty()) {
      env.add(new EnvVar("WARP_SERVER_ROOT_URL", root));
    }
    for (Map.Entry<String, String> e : a.envVars().entrySet()) {
      env.add(new EnvVar(e.getKey(), e.getValue()));
    }
    return env;
  }

  private List<SidecarMount> sidecars(TaskAssignment a) {
    List<SidecarMount> out = new ArrayList<>();
    if (a.sidecarImage() != null && !a.sidecarImage().isEmpty()) {
      out.add(new SidecarMount(a.sidecarImage(), TaskDescription.AGENT_MOUNT, false));
    }
    for (TaskAssignment.SidecarRequest s : a.additionalSidecars()) {
      out.add(new SidecarMount(s.image(), s.mountPath(), s.readWrite()));
    }
    return out;
  }

  private List<String> secrets(TaskAssignment a) {
    List<String> out = new ArrayList<>();
    for (String v : a.envVars().values()) {
      if (v.length() >= TaskDescription.MIN_SECRET_LENGTH) {
        out.add(v);
      }
    }
    return out;
  }

  /** {@code agent run ...} (the executable is the backend's), in the exact order of PROTOCOL.md section 4. */
  List<String> agentArgs(TaskAssignment a) {
    Task task = a.task();
    List<String> args = new ArrayList<>(List.of("agent", "run"));
    if (task.owner() != null && "TEAM".equals(task.owner().type())) {
      args.addAll(List.of("--share", "team:edit"));
    }
    args.addAll(List.of("--task-id", task.id(), "--sandboxed", "--server-root-url", nullToEmpty(options.getServerRootUrl())));
    AgentConfigSnapshot s = task.agentConfigSnapshot();
    if (s != null) {
      snapshotArgs(s, args);
    }
    addValue(args, "--environment", s == null ? null : s.environmentId());
    if (s != null && s.repositoryHeadOverrides() != null && !s.repositoryHeadOverrides().isEmpty()) {
      // as the newer Go worker: one flag per override (its Go JSON), then one flag to drop the origins
      for (RepositoryHeadOverride o : s.repositoryHeadOverrides()) {
        args.addAll(List.of("--repository-head-override-json", ProtocolJson.goJson(o)));
      }
      args.add("--remove-repository-origins");
    }
    args.addAll(a.additionalOzArgs());
    idleOnComplete(s, args);
    addValue(args, "--session-sharing-server-url", options.getSessionSharingServerUrl());
    return args;
  }

  private static void snapshotArgs(AgentConfigSnapshot s, List<String> args) {
    boolean oz = isOzHarness(s);
    if (oz) {
      addValue(args, "--model", s.modelId());
    }
    addValue(args, "--profile", s.profileId());
    addValue(args, "--skill", s.skillSpec());
    if (s.mcpServers() != null && !s.mcpServers().isEmpty()) {
      args.addAll(List.of("--mcp", ProtocolJson.goCompactJson(s.mcpServers())));
    }
    boolean computerUse = s.computerUseEnabled() != null ? s.computerUseEnabled() : oz;
    args.add(computerUse ? "--computer-use" : "--no-computer-use");
    AwsInference aws = s.inferenceProviders() == null ? null : s.inferenceProviders().aws();
    if (aws != null && !aws.disabled() && !isBlank(aws.roleArn())) {
      args.addAll(List.of("--bedrock-inference-role", aws.roleArn().strip()));
      addValue(args, "--bedrock-role-region", aws.region());
    }
    addValue(args, "--harness", s.harness() == null ? null : s.harness().type());
    String publicAccess = s.sessionSharing() == null ? null : s.sessionSharing().publicAccess();
    if ("VIEWER".equals(publicAccess)) {
      args.addAll(List.of("--share", "public:view"));
    } else if ("EDITOR".equals(publicAccess)) {
      args.addAll(List.of("--share", "public:edit"));
    }
    if (Boolean.TRUE.equals(s.snapshotDisabled())) {
      args.add("--no-snapshot");
    }
    if (s.snapshotUploadTimeoutSecs() != null && s.snapshotUploadTimeoutSecs() > 0) {
      args.addAll(List.of("--snapshot-upload-timeout", s.snapshotUploadTimeoutSecs() + "s"));
    }
    if (s.snapshotScriptTimeoutSecs() != null && s.snapshotScriptTimeoutSecs() > 0) {
      args.addAll(List.of("--snapshot-script-timeout", s.snapshotScriptTimeoutSecs() + "s"));
    }
  }

  private void idleOnComplete(AgentConfigSnapshot s, List<String> args) {
    args.add("--idle-on-complete");
    if (s != null && s.idleTimeoutMinutes() != null && s.idleTimeoutMinutes() > 0) {
      args.add(s.idleTimeoutMinutes() + "m");
    } else if (!isBlank(options.getIdleOnComplete())) {
      args.add(options.getIdleOnComplete().strip());
    }
  }

  /** The Oz harness: no harness, or a type that is null, empty or "oz" (not trimmed, as in the reference). */
  static boolean isOzHarness(AgentConfigSnapshot s) {
    return s.harness() == null || s.harness().type() == null || s.harness().type().isEmpty()
        || "oz".equals(s.harness().type());
  }

  private static void addValue(List<String> args, String flag, String value) {
    if (!isBlank(value)) {
      args.add(flag);
      args.add(value.strip());
    }
  }

  private static boolean isBlank(String s) {
    return s == null || s.isBlank();
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }
}
