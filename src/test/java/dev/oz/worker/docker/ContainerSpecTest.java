package dev.oz.worker.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.oz.worker.backend.TaskDescription;
import dev.oz.worker.backend.TaskDescription.SidecarMount;
import dev.oz.worker.config.EnvEntry;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.protocol.ProtocolJson;
import dev.oz.worker.protocol.TaskAssignment;
import dev.oz.worker.task.TaskDescriptionResolver;
import dev.oz.worker.testing.Assignments;
import dev.oz.worker.testing.DockerSettings;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * PROTOCOL.md section 4, case by case, without Docker: the backend-neutral description the lifecycle resolves, made
 * into the task container by the Docker backend.
 */
class ContainerSpecTest {

  private static WorkerOptions options() {
    WorkerOptions o = new WorkerOptions().setApiKey("k").setWorkerId("w").setServerRootUrl("https://oz.example");
    return DockerSettings.edit(o, d -> d.setEnvironment(List.of(new EnvEntry("WORKER_VAR", "wv"))));
  }

  private static ContainerSpec resolve(WorkerOptions o, JsonObject data) throws Exception {
    TaskAssignment a = (TaskAssignment) ProtocolJson.decode(Assignments.envelope("task_assignment", data).encode());
    TaskDescription task = new TaskDescriptionResolver(o).resolve(a);
    return ContainerSpec.of(task, DockerOptions.fromJson(o.getBackendBlock("docker"), Map.of()), o.getEnvironment());
  }

  private static JsonObject withSnapshot(String taskId, JsonObject snapshot) {
    JsonObject d = Assignments.data(taskId);
    d.getJsonObject("task").put("agent_config_snapshot", snapshot);
    return d;
  }

  private static List<String> args(ContainerSpec spec) {
    return spec.command().subList(1, spec.command().size());
  }

  @Test
  void minimalUserTask() throws Exception {
    JsonObject d = Assignments.data("t1");
    d.getJsonObject("task").put("owner", new JsonObject().put("Type", "USER").put("Id", 42));
    ContainerSpec spec = resolve(options(), d);
    assertEquals("ubuntu:22.04", spec.image());
    assertEquals("/agent/entrypoint.sh", spec.command().get(0));
    assertEquals(List.of("agent", "run", "--task-id", "t1", "--sandboxed", "--server-root-url", "https://oz.example",
        "--idle-on-complete"), args(spec));
    assertEquals(List.of("TASK_ID=t1", "GIT_TERMINAL_PROMPT=0", "GH_PROMPT_DISABLED=1",
        "WARP_SERVER_ROOT_URL=https://oz.example", "WORKER_VAR=wv"), spec.env());
    assertEquals("/workspace", spec.workingDir());
    assertEquals(List.of(), spec.sidecars());
    assertEquals(0, spec.nanoCpus());
    assertEquals(0, spec.memoryBytes());
  }

  @Test
  void richTeamTask() throws Exception {
    JsonObject snapshot = new JsonObject()
        .put("environment_id", " env-7 ")
        .put("base_prompt", "ignored here")
        .put("model_id", "claude-x")
        .put("profile_id", "prof")
        .put("skill_spec", "skill-a")
        .put("mcp_servers", new JsonObject()
            .put("zeta", new JsonObject().put("url", "http://z?a=1&b=<2>"))
            .put("alpha", new JsonObject().put("command", "run").put("args", new JsonArray().add("-x"))))
        .put("computer_use_enabled", false)
        .put("idle_timeout_minutes", 15)
        .put("harness", new JsonObject().put("type", "oz"))
        .put("inference_providers", new JsonObject().put("aws",
            new JsonObject().put("disabled", false).put("role_arn", "arn:aws:iam::1:role/r").put("region", "us-east-1")))
        .put("session_sharing", new JsonObject().put("public_access", "EDITOR"))
        .put("snapshot_disabled", true)
        .put("snapshot_upload_timeout_secs", 30)
        .put("snapshot_script_timeout_secs", 0)
        .put("some_future_field", new JsonObject().put("x", 1));
    JsonObject d = withSnapshot("t2", snapshot)
        .put("docker_image", "my/image:1")
        .put("sidecar_image", "warpdotdev/agent:latest")
        .put("additional_sidecars", new JsonArray()
            .add(new JsonObject().put("image", "tools:1").put("mount_path", "/tools").put("read_write", true)))
        .put("additional_oz_args", new JsonArray().add("--skip-initial-turn"))
        .put("env_vars", new JsonObject().put("ZED", "z-secret-1").put("ALPHA", "a").put("MID", "mmmm"))
        .put("instance_shape", new JsonObject().put("vcpus", 2).put("memory_gb", 4));
    d.getJsonObject("task").put("owner", new JsonObject().put("Type", "TEAM").put("Id", 7));
    ContainerSpec spec = resolve(options().setSessionSharingServerUrl("ws://127.0.0.1:8081"), d);

    assertEquals("my/image:1", spec.image());
    assertEquals(List.of(
        "agent", "run", "--share", "team:edit",
        "--task-id", "t2", "--sandboxed", "--server-root-url", "https://oz.example",
        "--model", "claude-x", "--profile", "prof", "--skill", "skill-a",
        "--mcp", "{\"alpha\":{\"command\":\"run\",\"args\":[\"-x\"]},\"zeta\":{\"url\":\"http://z?a=1\\u0026b=\\u003c2\\u003e\"}}",
        "--no-computer-use",
        "--bedrock-inference-role", "arn:aws:iam::1:role/r", "--bedrock-role-region", "us-east-1",
        "--harness", "oz", "--share", "public:edit", "--no-snapshot", "--snapshot-upload-timeout", "30s",
        "--environment", "env-7",
        "--skip-initial-turn",
        "--idle-on-complete", "15m",
        "--session-sharing-server-url", "ws://127.0.0.1:8081"), args(spec));
    assertEquals(List.of("TASK_ID=t2", "GIT_TERMINAL_PROMPT=0", "GH_PROMPT_DISABLED=1",
        "WARP_SERVER_ROOT_URL=https://oz.example", "ZED=z-secret-1", "ALPHA=a", "MID=mmmm", "WORKER_VAR=wv"), spec.env());
    assertEquals(List.of(new SidecarMount("warpdotdev/agent:latest", "/agent", false),
        new SidecarMount("tools:1", "/tools", true)), spec.sidecars());
    assertEquals(2_000_000_000L, spec.nanoCpus());
    assertEquals(4L << 30, spec.memoryBytes());
    assertEquals(List.of("z-secret-1", "mmmm"), spec.secrets(), "values shorter than 4 characters are not secrets");
    assertFalse(spec.toString().contains("z-secret-1"), "toString hides env values");
  }

  @Test
  void otherHarnessSkipsModelAndDefaultsComputerUseOff() throws Exception {
    ContainerSpec spec = resolve(options(), withSnapshot("t", new JsonObject()
        .put("model_id", "m").put("harness", new JsonObject().put("type", " claude "))));
    assertEquals(List.of("agent", "run", "--task-id", "t", "--sandboxed", "--server-root-url", "https://oz.example",
        "--no-computer-use", "--harness", "claude", "--idle-on-complete"), args(spec));
  }

  @Test
  void emptySnapshotDefaultsToComputerUseForOz() throws Exception {
    ContainerSpec spec = resolve(options(), withSnapshot("t", new JsonObject()).put("additional_oz_args",
        new JsonArray().add("--skip-initial-turn")));
    assertEquals(List.of("agent", "run", "--task-id", "t", "--sandboxed", "--server-root-url", "https://oz.example",
        "--computer-use", "--skip-initial-turn", "--idle-on-complete"), args(spec));
  }

  @Test
  void harnessWithNullTypeIsOz() throws Exception {
    ContainerSpec spec = resolve(options(), withSnapshot("t", new JsonObject()
        .put("model_id", "m").put("harness", new JsonObject().putNull("type"))));
    assertEquals(List.of("--model", "m", "--computer-use"), args(spec).subList(7, 10));
  }

  @Test
  void explicitComputerUseWinsForOtherHarness() throws Exception {
    ContainerSpec spec = resolve(options(), withSnapshot("t", new JsonObject()
        .put("computer_use_enabled", true).put("harness", new JsonObject().put("type", "codex"))));
    assertEquals(List.of("--computer-use", "--harness", "codex"), args(spec).subList(7, 10));
  }

  @Test
  void awsArgsOnlyWhenEnabledWithRole() throws Exception {
    List<JsonObject> cases = List.of(
        new JsonObject().put("disabled", true).put("role_arn", "arn").put("region", "r"),
        new JsonObject().put("disabled", false).put("role_arn", "  ").put("region", "r"));
    for (JsonObject aws : cases) {
      ContainerSpec spec = resolve(options(), withSnapshot("t", new JsonObject()
          .put("inference_providers", new JsonObject().put("aws", aws))));
      assertFalse(spec.command().contains("--bedrock-inference-role"), aws.encode());
    }
    ContainerSpec noRegion = resolve(options(), withSnapshot("t", new JsonObject()
        .put("inference_providers", new JsonObject().put("aws", new JsonObject().put("role_arn", "arn").put("region", " ")))));
    assertEquals(List.of("--bedrock-inference-role", "arn", "--idle-on-complete"), args(noRegion).subList(8, 11));
  }

  @Test
  void sessionSharingOnlyForViewerAndEditor() throws Exception {
    assertEquals(List.of("--share", "public:view"), shareArgs("VIEWER"));
    assertEquals(List.of("--share", "public:edit"), shareArgs("EDITOR"));
    assertEquals(List.of(), shareArgs("OWNER"));
  }

  private List<String> shareArgs(String access) throws Exception {
    ContainerSpec spec = resolve(options(), withSnapshot("t", new JsonObject()
        .put("session_sharing", new JsonObject().put("public_access", access))));
    List<String> out = new ArrayList<>();
    List<String> a = spec.command();
    for (int i = 0; i < a.size() - 1; i++) {
      if (a.get(i).equals("--share")) {
        out.add(a.get(i));
        out.add(a.get(i + 1));
      }
    }
    return out;
  }

  @Test
  void idleOnCompleteFallsBackToWorkerSetting() throws Exception {
    ContainerSpec spec = resolve(options().setIdleOnComplete("10m"), Assignments.data("t"));
    assertEquals(List.of("--idle-on-complete", "10m"), args(spec).subList(7, 9));
    ContainerSpec zero = resolve(options().setIdleOnComplete("10m"), withSnapshot("t", new JsonObject().put("idle_timeout_minutes", 0)));
    assertEquals(List.of("--idle-on-complete", "10m"), args(zero).subList(8, 10));
  }

  @Test
  void configuredDefaultImageAndNoRootUrl() throws Exception {
    WorkerOptions o = options();
    DockerSettings.edit(o, d -> d.setDefaultImage("local/base:1"));
    o.setServerRootUrl("");
    ContainerSpec spec = resolve(o, Assignments.data("t").put("docker_image", ""));
    assertEquals("local/base:1", spec.image());
    assertFalse(spec.env().stream().anyMatch(e -> e.startsWith("WARP_SERVER_ROOT_URL=")));
    assertEquals(List.of("--server-root-url", ""), args(spec).subList(5, 7));
  }

  @Test
  void nonPositiveShapeMeansNoLimit() throws Exception {
    ContainerSpec spec = resolve(options(), Assignments.data("t")
        .put("instance_shape", new JsonObject().put("vcpus", 0).put("memory_gb", -1)));
    assertEquals(0, spec.nanoCpus());
    assertEquals(0, spec.memoryBytes());
  }

  @Test
  void configuredSidecarImageReplacesOnlyTheAgentSidecarTheServerSent() throws Exception {
    WorkerOptions o = DockerSettings.edit(options(), d -> d.setSidecarImage("local/agent:pinned"));
    JsonObject d = Assignments.data("t").put("sidecar_image", "warpdotdev/agent:latest")
        .put("additional_sidecars", new JsonArray()
            .add(new JsonObject().put("image", "tools:1").put("mount_path", "/tools")));
    assertEquals(List.of(new SidecarMount("local/agent:pinned", "/agent", false), new SidecarMount("tools:1", "/tools", false)),
        resolve(o, d).sidecars());
    assertEquals(List.of(), resolve(o, Assignments.data("t")).sidecars(), "no agent sidecar sent: none added");
  }
}
