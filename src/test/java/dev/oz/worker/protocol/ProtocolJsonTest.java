package dev.oz.worker.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The wire format, both directions. */
class ProtocolJsonTest {
  /** A test-side parser that keeps numbers exactly, to build frames independently of the codec. */
  private static final ObjectMapper TREES = new ObjectMapper()
      .setNodeFactory(JsonNodeFactory.withExactBigDecimals(true))
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

  /** Every field the model knows, in wire order, each with a value that must survive a round trip. */
  private static final String FULL_ASSIGNMENT = """
      {"type":"task_assignment","data":{"task_id":"t1","execution_id":"e1",\
      "task":{"id":"t1","title":"T","task_definition":{"prompt":"p"},\
      "created_at":"2026-01-02T03:04:05.123456789Z","updated_at":"2026-01-02T03:04:05Z",\
      "owner":{"Type":"TEAM","Id":5},\
      "agent_config_snapshot":{"environment_id":"env","base_prompt":"","model_id":"m","profile_id":"prof",\
      "skill_spec":"sk","mcp_servers":{"zeta":{"n":1.10,"big":123456789012345678901234567890,"url":"a?b=1&c=<2>"},\
      "alpha":null},"computer_use_enabled":false,"computer_use_model_id":"cu-1","idle_timeout_minutes":0,\
      "harness":{"type":"oz"},"harness_auth_secrets":{"claude_auth_secret_name":"claude"},\
      "inference_providers":{"aws":{"role_arn":"arn:aws:iam::1:role/r","region":"us-east-1"}},\
      "session_sharing":{"public_access":"VIEWER"},"snapshot_disabled":false,"snapshot_upload_timeout_secs":30,\
      "snapshot_script_timeout_secs":5,"repository_head_overrides":[\
      {"code_forge":"github","repo_owner":"o","repo_name":"r","head":{"type":"COMMIT_SHA","value":"abc123"},\
      "clone_from":{"code_forge":"github","owner":"fork","repo":"r2"},"preserve_origin":true},\
      {"code_forge":"github","repo_owner":"o","repo_name":"s","head":{"type":"BRANCH","value":"main"}}]},\
      "agent_conversation_id":"c"},\
      "docker_image":"img","sidecar_image":"side","env_vars":{"B":"2","A":"1"},\
      "additional_sidecars":[{"image":"i","mount_path":"/m","read_write":false}],"additional_oz_args":["--x"],\
      "instance_shape":{"vcpus":2},\
      "telemetry_collection":{"endpoint":"https://otel.example","tracing_enabled":false,"logging_enabled":true,\
      "bootstrap_token":{"token":"bt-secret","expires_at":"2026-01-02T04:00:00Z"}}}}""";

  @Test
  void decodesFullAssignmentIgnoringUnknownFields() throws Exception {
    String frame = """
        {"type":"task_assignment","extra":1,"data":{"task_id":"t1","execution_id":"e1","new_field":{"a":1},
         "task":{"id":"t1","title":"T","task_definition":{"prompt":"p","x":1},"created_at":"2026-01-02T03:04:05.123456789Z",
                 "updated_at":"2026-01-02T03:04:05Z","owner":{"Type":"TEAM","Id":5},"agent_conversation_id":"c"},
         "docker_image":"img","sidecar_image":"side","env_vars":{"B":"2","A":"1"},
         "additional_sidecars":[{"image":"i","mount_path":"/m","read_write":true}],
         "additional_oz_args":["--x"],"instance_shape":{"vcpus":2,"memory_gb":8}}}""";
    TaskAssignment a = assertInstanceOf(TaskAssignment.class, ProtocolJson.decode(frame));
    assertEquals("t1", a.taskId());
    assertEquals("e1", a.executionId());
    assertEquals("p", a.task().taskDefinition().prompt());
    assertEquals(new Task.Owner("TEAM", 5), a.task().owner());
    assertEquals(List.of("B", "A"), List.copyOf(a.envVars().keySet()), "server order is kept");
    assertEquals(List.of(new TaskAssignment.SidecarRequest("i", "/m", true)), a.additionalSidecars());
    assertEquals(new TaskAssignment.InstanceShape(2, 8), a.instanceShape());
    assertNull(a.task().agentConfigSnapshot());
    assertNull(a.telemetryCollection());
  }

  @Test
  void decodesTheNewerGoFields() throws Exception {
    TaskAssignment a = (TaskAssignment) ProtocolJson.decode(FULL_ASSIGNMENT);
    Task.AgentConfigSnapshot s = a.task().agentConfigSnapshot();
    assertEquals("cu-1", s.computerUseModelId());
    assertEquals(List.of(
        new Task.RepositoryHeadOverride("github", "o", "r", new Task.RepositoryHeadOverride.Head("COMMIT_SHA", "abc123"),
            new Task.RepositoryHeadOverride.RepositoryIdentity("github", "fork", "r2"), true),
        new Task.RepositoryHeadOverride("github", "o", "s", new Task.RepositoryHeadOverride.Head("BRANCH", "main"),
            null, false)), s.repositoryHeadOverrides());
    assertEquals(new TaskAssignment.TelemetryCollection("https://otel.example", false, true,
        new TaskAssignment.BootstrapToken("bt-secret", "2026-01-02T04:00:00Z")), a.telemetryCollection());
    assertEquals("BootstrapToken[token=[REDACTED], expiresAt=2026-01-02T04:00:00Z]",
        a.telemetryCollection().bootstrapToken().toString(), "the token is a secret");
    assertEquals(new TaskCancellation("t9", "e9"),
        ProtocolJson.decode("{\"type\":\"task_cancellation\",\"data\":{\"task_id\":\"t9\",\"execution_id\":\"e9\"}}"));
  }

  @Test
  void assignmentRoundTripsToTheSameText() throws Exception {
    assertEquals(FULL_ASSIGNMENT, ProtocolJson.encode(ProtocolJson.decode(FULL_ASSIGNMENT)));
    String minimal = "{\"type\":\"task_assignment\",\"data\":{\"task_id\":\"t2\",\"task\":{\"id\":\"t2\",\"title\":\"\","
        + "\"task_definition\":{\"prompt\":\"\"},\"created_at\":\"\",\"updated_at\":\"\"}}}";
    assertEquals(minimal, ProtocolJson.encode(ProtocolJson.decode(minimal)), "everything optional is omitted");
    assertEquals(minimal, ProtocolJson.encode(ProtocolJson.decode(
        "{\"type\":\"task_assignment\",\"data\":{\"task_id\":\"t2\",\"task\":{},\"execution_id\":\"\",\"env_vars\":{},"
            + "\"additional_oz_args\":[],\"telemetry_collection\":null}}")), "empty values are omitted too");
  }

  @Test
  void goNullDecodesToEmptyStringsExceptForPointerFields() throws Exception {
    TaskAssignment a = (TaskAssignment) ProtocolJson.decode("""
        {"type":"task_assignment","data":{"task_id":"t","execution_id":null,"docker_image":null,
         "task":{"id":null,"title":null,"task_definition":null,"created_at":null,"owner":{"Type":null,"Id":null},
                 "agent_config_snapshot":{"model_id":null,"harness":{"type":null},"computer_use_enabled":null,
                                          "inference_providers":{"aws":{"role_arn":null,"disabled":null}}}},
         "env_vars":{"A":null},"additional_oz_args":[null],
         "additional_sidecars":[{"image":null,"mount_path":null,"read_write":null}],"instance_shape":null}}""");
    assertEquals("", a.executionId());
    assertEquals("", a.dockerImage());
    assertEquals(new Task("t", "", new Task.TaskDefinition(""), "", "", new Task.Owner("", 0), a.task().agentConfigSnapshot(),
        null), a.task(), "an id-less task takes the assignment's task_id");
    Task.AgentConfigSnapshot s = a.task().agentConfigSnapshot();
    assertNull(s.modelId(), "a Go *string stays null");
    assertNull(s.harness().type());
    assertNull(s.computerUseEnabled());
    assertEquals(new Task.AwsInference(false, "", ""), s.inferenceProviders().aws());
    assertEquals(Map.of("A", ""), a.envVars());
    assertEquals(List.of(""), a.additionalOzArgs());
    assertEquals(List.of(new TaskAssignment.SidecarRequest("", "", false)), a.additionalSidecars());
    assertNull(a.instanceShape());
  }

  @Test
  void unknownFieldsAreIgnoredAtEveryLevel() throws Exception {
    ObjectNode augmented = withUnknownFields(TREES.readTree(FULL_ASSIGNMENT));
    assertEquals(20, augmented.toString().split("\"added_later\"", -1).length - 1, "one per object of the frame");
    assertEquals(FULL_ASSIGNMENT, ProtocolJson.encode(ProtocolJson.decode(augmented.toString())));

    for (WorkerMessage m : everyWorkerMessage()) {
      String frame = ProtocolJson.encode(m);
      assertEquals(m, ProtocolJson.decodeWorkerMessage(withUnknownFields(TREES.readTree(frame)).toString()), frame);
    }
    assertEquals(new TaskCancellation("t", ""), ProtocolJson.decode(withUnknownFields(
        TREES.readTree("{\"type\":\"task_cancellation\",\"data\":{\"task_id\":\"t\"}}")).toString()));
  }

  /** Opaque JSON (a map the server fills, or pass-through diagnostics) gets nothing added: a new key there is data. */
  private static final Set<String> OPAQUE = Set.of("env_vars", "mcp_servers", "failure_details");

  private static ObjectNode withUnknownFields(JsonNode node) {
    ObjectNode out = TREES.createObjectNode();
    node.fields().forEachRemaining(e -> out.set(e.getKey(), OPAQUE.contains(e.getKey()) ? e.getValue() : augment(e.getValue())));
    out.putObject("added_later").put("number", 1.5).putArray("list").add("x");
    return out;
  }

  private static JsonNode augment(JsonNode node) {
    if (node.isObject()) {
      return withUnknownFields(node);
    }
    if (node.isArray()) {
      ArrayNode out = TREES.createArrayNode();
      node.forEach(n -> out.add(augment(n)));
      return out;
    }
    return node;
  }

  @Test
  void decodesCancellation() throws Exception {
    assertEquals(new TaskCancellation("t9", ""), ProtocolJson.decode("{\"type\":\"task_cancellation\",\"data\":{\"task_id\":\"t9\"}}"));
  }

  @Test
  void rejectsBadFramesWithReasons() {
    assertEquals("unknown message type \"heartbeat\"", reason("{\"type\":\"heartbeat\"}"));
    assertEquals("missing \"task_id\"", reason("{\"type\":\"task_assignment\",\"data\":{\"task\":{}}}"));
    assertEquals("task_assignment t has no \"task\"", reason("{\"type\":\"task_assignment\",\"data\":{\"task_id\":\"t\",\"task\":null}}"));
    assertEquals("\"data\" must be an object", reason("{\"type\":\"task_cancellation\"}"));
    assertEquals("message has no \"type\"", reason("{\"data\":{}}"));
    assertEquals("message is not a JSON object", reason("[1,2]"));
    assertTrue(reason("{\"type\":\"task_cancellation\",\"data\":{\"task_id\":\"t\"}} {}").startsWith("invalid JSON: "),
        "one message per frame, as Go's decoder reads it");
    assertEquals("unknown message type \"task_claimed\"", reason("{\"type\":\"task_claimed\",\"data\":{\"task_id\":\"t\"}}"),
        "a worker's message is not one the worker accepts");
  }

  @Test
  void wrongTypesAreRefusedWithThePathAndRejectableWhenTheTaskIdIsReadable() {
    assertWrongType("task.owner.Id must be an integer", "t", "{\"task\":{\"owner\":{\"Type\":\"USER\",\"Id\":\"5\"}}}");
    assertWrongType("env_vars.A must be a string", "t", "{\"task\":{},\"env_vars\":{\"A\":1}}");
    assertWrongType("additional_oz_args[1] must be a string", "t", "{\"task\":{},\"additional_oz_args\":[\"a\",2]}");
    assertWrongType("additional_oz_args must be a list", "t", "{\"task\":{},\"additional_oz_args\":\"--x\"}");
    assertWrongType("instance_shape.vcpus must be an integer", "t", "{\"task\":{},\"instance_shape\":{\"vcpus\":2.5}}");
    assertWrongType("instance_shape.memory_gb must be an integer", "t", "{\"task\":{},\"instance_shape\":{\"memory_gb\":\"8\"}}");
    assertWrongType("task.owner.Id must be an integer", "t", "{\"task\":{\"owner\":{\"Id\":99999999999999999999}}}");
    assertWrongType("additional_sidecars[0].read_write must be true or false", "t",
        "{\"task\":{},\"additional_sidecars\":[{\"read_write\":\"yes\"}]}");
    assertWrongType("task.agent_config_snapshot must be an object", "t", "{\"task\":{\"agent_config_snapshot\":[]}}");
    assertWrongType("task must be an object", "t", "{\"task\":5}");
    assertWrongType("task.agent_config_snapshot.computer_use_enabled must be true or false", "t",
        "{\"task\":{\"agent_config_snapshot\":{\"computer_use_enabled\":1}}}");
    assertWrongType("telemetry_collection.bootstrap_token.token must be a string", "t",
        "{\"task\":{},\"telemetry_collection\":{\"bootstrap_token\":{\"token\":true}}}");

    ProtocolException noId = assertThrows(ProtocolException.class, () -> ProtocolJson.decode(
        "{\"type\":\"task_assignment\",\"data\":{\"task_id\":5,\"task\":{}}}"));
    assertEquals("task_id must be a string", noId.getMessage());
    assertNull(noId.assignmentTaskId(), "without a readable task_id there is nothing to reject");
    ProtocolException cancel = assertThrows(ProtocolException.class, () -> ProtocolJson.decode(
        "{\"type\":\"task_cancellation\",\"data\":{\"task_id\":\"t\",\"execution_id\":7}}"));
    assertEquals("execution_id must be a string", cancel.getMessage());
    assertNull(cancel.assignmentTaskId(), "only assignments are answered with a rejection");
  }

  private static void assertWrongType(String reason, String taskId, String dataWithoutTaskId) {
    String data = "{\"task_id\":\"" + taskId + "\"," + dataWithoutTaskId.substring(1);
    ProtocolException e = assertThrows(ProtocolException.class,
        () -> ProtocolJson.decode("{\"type\":\"task_assignment\",\"data\":" + data + "}"), data);
    assertEquals(reason, e.getMessage(), data);
    assertEquals(taskId, e.assignmentTaskId(), data);
  }

  private static String reason(String frame) {
    return assertThrows(ProtocolException.class, () -> ProtocolJson.decode(frame)).getMessage();
  }

  @Test
  void encodesWithOmitWhenEmptyRules() {
    assertEquals("{\"type\":\"task_claimed\",\"data\":{\"task_id\":\"t\",\"worker_id\":\"w\"}}",
        ProtocolJson.encode(new TaskClaimed("t", null, "w")));
    assertEquals("{\"type\":\"task_completed\",\"data\":{\"task_id\":\"t\",\"message\":\"Task completed successfully\"}}",
        ProtocolJson.encode(TaskCompleted.success("t", null)));
    assertEquals("{\"type\":\"task_completed\",\"data\":{\"task_id\":\"t\",\"message\":\"Task cancelled by user request.\","
        + "\"task_state\":\"CANCELLED\"}}", ProtocolJson.encode(TaskCompleted.cancelled("t", "")));
    assertEquals("{\"type\":\"task_failed\",\"data\":{\"task_id\":\"t\",\"message\":\"m\"}}",
        ProtocolJson.encode(new TaskFailed("t", "", "m", null, 0, null)));
    assertEquals("{\"type\":\"task_log\",\"data\":{\"task_id\":\"t\",\"seq\":3,\"stream\":\"stderr\",\"data\":\"x\\n\",\"dropped_bytes\":12}}",
        ProtocolJson.encode(new TaskLog("t", null, 3, "stderr", "x\n", 12, false, null)));
    assertEquals("{\"type\":\"task_rejected\",\"data\":{\"task_id\":\"t\",\"reason\":\"worker at maximum concurrency\"}}",
        ProtocolJson.encode(new TaskRejected("t", TaskRejected.AT_CAPACITY)));
    assertEquals("{\"type\":\"task_cancellation\",\"data\":{\"task_id\":\"t\"}}",
        ProtocolJson.encode(new TaskCancellation("t", "")));
  }

  @Test
  void encodesTheNewerGoFields() throws Exception {
    assertEquals("{\"type\":\"task_claimed\",\"data\":{\"task_id\":\"t\",\"execution_id\":\"e\",\"worker_id\":\"w\"}}",
        ProtocolJson.encode(new TaskClaimed("t", "e", "w")));
    assertEquals("{\"type\":\"task_completed\",\"data\":{\"task_id\":\"t\",\"execution_id\":\"e\","
        + "\"message\":\"Task completed successfully\"}}", ProtocolJson.encode(TaskCompleted.success("t", "e")));
    ObjectNode details = (ObjectNode) TREES.readTree(
        "{\"kubernetes\":{\"schema_version\":1,\"observed_at\":\"2026-01-02T03:04:05Z\",\"ratio\":0.50,\"truncated\":true}}");
    assertEquals("{\"type\":\"task_failed\",\"data\":{\"task_id\":\"t\",\"execution_id\":\"e\",\"message\":\"m\","
        + "\"failure_reason\":\"container_oom\",\"exit_code\":137,\"failure_details\":{\"kubernetes\":{\"schema_version\":1,"
        + "\"observed_at\":\"2026-01-02T03:04:05Z\",\"ratio\":0.50,\"truncated\":true}}}}",
        ProtocolJson.encode(new TaskFailed("t", "e", "m", "container_oom", 137, details)));
    assertEquals("{\"type\":\"task_log\",\"data\":{\"task_id\":\"t\",\"seq\":0,\"stream\":\"stdout\",\"data\":\"\","
        + "\"truncated\":true,\"offset\":0}}", ProtocolJson.encode(new TaskLog("t", "", 0, "stdout", "", 0, true, 0L)),
        "offset 0 is a position, not an empty value");
    assertEquals("{\"type\":\"execution_closed\",\"data\":{\"task_id\":\"t\",\"execution_id\":\"e\"}}",
        ProtocolJson.encode(new ExecutionClosed("t", "e")));
    assertEquals("{\"type\":\"task_cancellation\",\"data\":{\"task_id\":\"t\",\"execution_id\":\"e\"}}",
        ProtocolJson.encode(new TaskCancellation("t", "e")));
  }

  @Test
  void workerMessagesRoundTripForTheControlPlaneSide() throws Exception {
    for (WorkerMessage m : everyWorkerMessage()) {
      assertEquals(m, ProtocolJson.decodeWorkerMessage(ProtocolJson.encode(m)), m.type());
    }
    assertEquals("unknown message type \"task_assignment\"", assertThrows(ProtocolException.class,
        () -> ProtocolJson.decodeWorkerMessage(ProtocolJson.encode(ProtocolJson.decode(FULL_ASSIGNMENT)))).getMessage());
  }

  private static List<WorkerMessage> everyWorkerMessage() throws Exception {
    ObjectNode details = (ObjectNode) TREES.readTree("{\"kubernetes\":{\"schema_version\":1,\"big\":1.000000000000000000001}}");
    return List.of(
        new TaskClaimed("t", "", "w"),
        new TaskClaimed("t", "e", "w"),
        new TaskRejected("t", "worker at maximum concurrency"),
        TaskCompleted.success("t", "e"),
        TaskCompleted.cancelled("t", ""),
        new TaskFailed("t", "", "m", "", 0, null),
        new TaskFailed("t", "e", "m", "container_exit", 3, details),
        new TaskLog("t", "e", 7, "stderr", "line\n", 5, true, 4096L),
        new TaskLog("t", "", 0, "stdout", "", 0, false, null),
        new ExecutionClosed("t", "e"));
  }

  @Test
  void mcpServersReachTheArgumentAsGoWouldWriteThem() throws Exception {
    TaskAssignment a = (TaskAssignment) ProtocolJson.decode(FULL_ASSIGNMENT);
    assertEquals("{\"alpha\":null,\"zeta\":{\"n\":1.10,\"big\":123456789012345678901234567890,"
            + "\"url\":\"a?b=1\\u0026c=\\u003c2\\u003e\"}}",
        ProtocolJson.goCompactJson(a.task().agentConfigSnapshot().mcpServers()),
        "keys sorted at the top only, numbers exactly as sent, HTML characters escaped");
  }
}
