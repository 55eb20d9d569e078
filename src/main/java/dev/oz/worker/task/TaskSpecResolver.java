package dev.oz.worker.task;

import dev.oz.worker.config.EnvEntry;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.protocol.ProtocolJson;
import dev.oz.worker.protocol.Task;
import dev.oz.worker.protocol.Task.AgentConfigSnapshot;
import dev.oz.worker.protocol.Task.AwsInference;
import dev.oz.worker.protocol.TaskAssignment;
import dev.oz.worker.protocol.TaskAssignment.InstanceShape;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Turns an assignment into a {@link TaskSpec}, following PROTOCOL.md section 4 rule by rule. */
public final class TaskSpecResolver {
  /** Secrets shorter than this are not redacted: replacing "1" or "yes" everywhere would destroy the output. */
  public static final int MIN_SECRET_LENGTH = 4;
  private static final long GIB = 1L << 30;

  private final WorkerOptions options;

  public TaskSpecResolver(WorkerOptions options) {
    this.options = options;
  }

  public TaskSpec resolve(TaskAssignment a) {
    Task task = a.task();
    InstanceShape shape = a.instanceShape() == null ? new InstanceShape(0, 0) : a.instanceShape();
    return new TaskSpec(
        a.taskId(),
        a.executionId(),
        task.title(),
        image(a),
        env(a),
        command(a),
        TaskSpec.WORKING_DIR,
        sidecars(a),
        shape.vcpus() > 0 ? shape.vcpus() * 1_000_000_000L : 0,
        shape.memoryGb() > 0 ? shape.memoryGb() * GIB : 0,
        secrets(a));
  }

  private String image(TaskAssignment a) {
    if (a.dockerImage() != null && !a.dockerImage().isBlank()) {
      return a.dockerImage().strip();
    }
    return options.getDocker().getDefaultImage();
  }

  private List<String> env(TaskAssignment a) {
    List<String> env = new ArrayList<>();
    env.add("TASK_ID=" + a.task().id());
    env.add("GIT_TERMINAL_PROMPT=0");
    env.add("GH_PROMPT_DISABLED=1");
    String root = options.getServerRootUrl();
    if (root != null && !root.isEmpty()) {
      env.add("WARP_SERVER_ROOT_URL=" + root);
    }
    for (Map.Entry<String, String> e : a.envVars().entrySet()) {
      env.add(e.getKey() + "=" + e.getValue());
    }
    for (EnvEntry e : options.getDocker().getEnvironment()) {
      env.add(e.name() + "=" + e.value());
    }
    return env;
  }

  private List<TaskSpec.SidecarMount> sidecars(TaskAssignment a) {
    List<TaskSpec.SidecarMount> out = new ArrayList<>();
    if (a.sidecarImage() != null && !a.sidecarImage().isEmpty()) {
      out.add(new TaskSpec.SidecarMount(a.sidecarImage(), "/agent", false));
    }
    for (TaskAssignment.SidecarRequest s : a.additionalSidecars()) {
      out.add(new TaskSpec.SidecarMount(s.image(), s.mountPath(), s.readWrite()));
    }
    return out;
  }

  private List<String> secrets(TaskAssignment a) {
    List<String> out = new ArrayList<>();
    for (String v : a.envVars().values()) {
      if (v.length() >= MIN_SECRET_LENGTH) {
        out.add(v);
      }
    }
    return out;
  }

  /** {@code /agent/entrypoint.sh agent run ...}, in the exact order of PROTOCOL.md section 4. */
  List<String> command(TaskAssignment a) {
    Task task = a.task();
    List<String> args = new ArrayList<>(List.of(TaskSpec.ENTRYPOINT, "agent", "run"));
    if (task.owner() != null && "TEAM".equals(task.owner().type())) {
      args.addAll(List.of("--share", "team:edit"));
    }
    args.addAll(List.of("--task-id", task.id(), "--sandboxed", "--server-root-url", nullToEmpty(options.getServerRootUrl())));
    AgentConfigSnapshot s = task.agentConfigSnapshot();
    if (s != null) {
      snapshotArgs(s, args);
    }
    addValue(args, "--environment", s == null ? null : s.environmentId());
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
