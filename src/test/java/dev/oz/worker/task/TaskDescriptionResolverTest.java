package dev.oz.worker.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.oz.worker.backend.TaskDescription;
import dev.oz.worker.backend.TaskDescription.EnvVar;
import dev.oz.worker.backend.TaskDescription.Shape;
import dev.oz.worker.config.EnvEntry;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.protocol.ProtocolJson;
import dev.oz.worker.protocol.TaskAssignment;
import dev.oz.worker.testing.Assignments;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The description every backend gets carries nothing of any one backend (the container form: docker.ContainerSpecTest). */
class TaskDescriptionResolverTest {

  @Test
  void neutralDescription() throws Exception {
    WorkerOptions o = new WorkerOptions().setApiKey("k").setWorkerId("w").setServerRootUrl("https://oz.example")
        .putEnv(new EnvEntry("OPERATOR", "x"));
    JsonObject data = Assignments.data("t1").put("env_vars", new JsonObject().put("A", "secret-a"))
        .put("instance_shape", new JsonObject().put("vcpus", 2));
    TaskAssignment a = (TaskAssignment) ProtocolJson.decode(Assignments.envelope("task_assignment", data).encode());
    TaskDescription d = new TaskDescriptionResolver(o).resolve(a);
    assertNull(d.image(), "no image named: the backend picks its default");
    assertEquals(List.of("agent", "run", "--task-id", "t1", "--sandboxed", "--server-root-url", "https://oz.example",
        "--idle-on-complete"), d.agentArgs(), "no executable: each backend has its own");
    assertEquals(List.of(new EnvVar("TASK_ID", "t1"), new EnvVar("GIT_TERMINAL_PROMPT", "0"),
        new EnvVar("GH_PROMPT_DISABLED", "1"), new EnvVar("WARP_SERVER_ROOT_URL", "https://oz.example"),
        new EnvVar("A", "secret-a")), d.env(), "operator variables are the backend's to add");
    assertEquals(new Shape(2, 0), d.shape());
    assertEquals(List.of("secret-a"), d.secrets());
  }

  @Test
  void repositoryHeadOverridesBecomeOneFlagEachThenOneRemoveOriginsFlag() throws Exception {
    WorkerOptions o = new WorkerOptions().setApiKey("k").setWorkerId("w").setServerRootUrl("https://oz.example");
    JsonObject snapshot = new JsonObject().put("environment_id", "env-1").put("repository_head_overrides",
        new io.vertx.core.json.JsonArray()
            .add(new JsonObject().put("code_forge", "GITHUB").put("repo_owner", "warpdotdev").put("repo_name", "warp")
                .put("head", new JsonObject().put("type", "COMMIT_SHA").put("value", "0123abc"))
                .put("clone_from", new JsonObject().put("code_forge", "GITHUB").put("owner", "warpdotdev")
                    .put("repo", "warp-for-benchmarks"))
                .put("preserve_origin", true))
            .add(new JsonObject().put("code_forge", "GITHUB").put("repo_owner", "a<b").put("repo_name", "r")
                .put("head", new JsonObject().put("type", "BRANCH").put("value", "develop")).put("preserve_origin", false)));
    JsonObject data = Assignments.data("t1").put("additional_oz_args", new io.vertx.core.json.JsonArray().add("--extra"));
    data.getJsonObject("task").put("agent_config_snapshot", snapshot);
    TaskAssignment a = (TaskAssignment) ProtocolJson.decode(Assignments.envelope("task_assignment", data).encode());
    List<String> args = new TaskDescriptionResolver(o).resolve(a).agentArgs();
    int at = args.indexOf("--environment");
    assertEquals(List.of("--environment", "env-1",
        "--repository-head-override-json", "{\"code_forge\":\"GITHUB\",\"repo_owner\":\"warpdotdev\",\"repo_name\":\"warp\","
            + "\"head\":{\"type\":\"COMMIT_SHA\",\"value\":\"0123abc\"},\"clone_from\":{\"code_forge\":\"GITHUB\","
            + "\"owner\":\"warpdotdev\",\"repo\":\"warp-for-benchmarks\"},\"preserve_origin\":true}",
        "--repository-head-override-json", "{\"code_forge\":\"GITHUB\",\"repo_owner\":\"a\\u003cb\",\"repo_name\":\"r\","
            + "\"head\":{\"type\":\"BRANCH\",\"value\":\"develop\"}}",
        "--remove-repository-origins", "--extra"), args.subList(at, at + 8));
  }

  @Test
  void theTaskObjectAsTheGoWorkerReEncodesIt() throws Exception {
    WorkerOptions o = new WorkerOptions().setApiKey("k").setWorkerId("w").setServerRootUrl("https://oz.example");
    JsonObject data = Assignments.data("t2");
    data.getJsonObject("task").remove("updated_at");
    data.getJsonObject("task").put("created_at", "2026-11-24T10:00:00.500+00:00")
        .put("agent_config_snapshot", new JsonObject().put("harness", new JsonObject().put("type", " codex"))
            .put("inference_providers", new JsonObject().put("aws", new JsonObject().put("role_arn", "arn:x"))));
    TaskAssignment a = (TaskAssignment) ProtocolJson.decode(Assignments.envelope("task_assignment", data).encode());
    TaskDescription d = new TaskDescriptionResolver(o).resolve(a);
    assertEquals(" codex", d.harness(), "as sent; the direct backend trims it as the Go worker does");
    assertEquals("{\"id\":\"t2\",\"title\":\"Test task t2\",\"task_definition\":{\"prompt\":\"do something\"},"
        + "\"created_at\":\"2026-11-24T10:00:00.5Z\",\"updated_at\":\"0001-01-01T00:00:00Z\","
        + "\"agent_config_snapshot\":{\"harness\":{\"type\":\" codex\"},"
        + "\"inference_providers\":{\"aws\":{\"role_arn\":\"arn:x\"}}}}", d.taskJson());
  }
}
