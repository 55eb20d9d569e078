package dev.oz.worker.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The wire format, both directions. */
class ProtocolJsonTest {

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
    assertEquals("p", a.task().prompt());
    assertEquals(new Task.Owner("TEAM", 5), a.task().owner());
    assertEquals(List.of("B", "A"), List.copyOf(a.envVars().keySet()), "server order is kept");
    assertEquals(List.of(new TaskAssignment.SidecarRequest("i", "/m", true)), a.additionalSidecars());
    assertEquals(new TaskAssignment.InstanceShape(2, 8), a.instanceShape());
    assertNull(a.task().agentConfigSnapshot());
  }

  @Test
  void decodesCancellation() throws Exception {
    assertEquals(new TaskCancellation("t9"), ProtocolJson.decode("{\"type\":\"task_cancellation\",\"data\":{\"task_id\":\"t9\"}}"));
  }

  @Test
  void rejectsBadFramesWithReasons() {
    assertEquals("unknown message type \"heartbeat\"", reason("{\"type\":\"heartbeat\"}"));
    assertEquals("missing \"task_id\"", reason("{\"type\":\"task_assignment\",\"data\":{\"task\":{}}}"));
    assertEquals("task_assignment t has no \"task\"", reason("{\"type\":\"task_assignment\",\"data\":{\"task_id\":\"t\",\"task\":null}}"));
    assertEquals("\"data\" must be an object", reason("{\"type\":\"task_cancellation\"}"));
    assertEquals("message has no \"type\"", reason("{\"data\":{}}"));
  }

  private static String reason(String frame) {
    return assertThrows(ProtocolException.class, () -> ProtocolJson.decode(frame)).getMessage();
  }

  @Test
  void encodesWithOmitWhenEmptyRules() {
    assertEquals(new JsonObject("{\"type\":\"task_claimed\",\"data\":{\"task_id\":\"t\",\"worker_id\":\"w\"}}"),
        new JsonObject(ProtocolJson.encode(new TaskClaimed("t", "w"))));
    assertEquals(new JsonObject("{\"type\":\"task_completed\",\"data\":{\"task_id\":\"t\",\"message\":\"Task completed successfully\"}}"),
        new JsonObject(ProtocolJson.encode(TaskCompleted.success("t", null))));
    assertEquals(new JsonObject("{\"type\":\"task_failed\",\"data\":{\"task_id\":\"t\",\"message\":\"m\"}}"),
        new JsonObject(ProtocolJson.encode(new TaskFailed("t", "", "m", null, 0))));
    assertEquals(new JsonObject("{\"type\":\"task_log\",\"data\":{\"task_id\":\"t\",\"seq\":3,\"stream\":\"stderr\",\"data\":\"x\\n\",\"dropped_bytes\":12}}"),
        new JsonObject(ProtocolJson.encode(new TaskLog("t", null, 3, "stderr", "x\n", 12, false))));
  }
}
