package dev.oz.worker.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.oz.worker.backend.TaskDescription;
import dev.oz.worker.backend.TaskDescription.EnvVar;
import dev.oz.worker.backend.TaskDescription.Shape;
import dev.oz.worker.backend.TaskDescription.SidecarMount;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The dispatch payload against the Go worker's own test (dispatch_payload_test.go), and the small Go formats. */
class DispatchPayloadTest {

  static JsonObject fixture(String name) throws Exception {
    try (var in = DispatchPayloadTest.class.getResourceAsStream(name)) {
      return new JsonObject(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  /** TestNewDispatchPayload's parameters: duplicate keys (the later wins), '=' inside a value. */
  @Test
  void theGoWorkersTestParametersGiveTheSamePayload() throws Exception {
    TaskDescription task = new TaskDescription("task-1", "exec-1", "do the thing", "ubuntu:22.04",
        List.of(new EnvVar("A", "1"), new EnvVar("B", "2"), new EnvVar("A", "3"), new EnvVar("URL", "a=b")),
        List.of("agent", "run", "--task-id", "task-1"),
        List.of(new SidecarMount("warpdotdev/warp-agent:latest", "/agent", false)), Shape.NONE, List.of(), null,
        "{\"id\":\"task-1\",\"title\":\"do the thing\",\"task_definition\":{\"prompt\":\"\"},"
            + "\"created_at\":\"0001-01-01T00:00:00Z\",\"updated_at\":\"0001-01-01T00:00:00Z\"}");
    String json = new String(DispatchPayload.encode(task, "https://app.warp.dev", "my-worker"), StandardCharsets.UTF_8);
    assertEquals(fixture("go-test-payload.json"), new JsonObject(json));
    assertEquals(List.of("version", "run_id", "execution_id", "server_root_url", "worker_id", "docker_image",
        "base_args", "env", "sidecars", "task"), List.copyOf(new JsonObject(json).fieldNames()),
        "the Go struct's field order");
  }

  @Test
  void noSidecarsIsNullAndNoImageIsTheGoDefault() {
    TaskDescription task = new TaskDescription("t", null, "x", null, List.of(new EnvVar("K", "v")), List.of(),
        List.of(), Shape.NONE, List.of(), null, "{\"id\":\"t\"}");
    JsonObject p = new JsonObject(new String(DispatchPayload.encode(task, null, "w"), StandardCharsets.UTF_8));
    assertNull(p.getValue("sidecars"));
    assertEquals(true, p.containsKey("sidecars"), "present, as null (no omitempty)");
    assertEquals("ubuntu:22.04", p.getString("docker_image"));
    assertEquals("", p.getString("execution_id"));
    assertEquals("", p.getString("server_root_url"));
  }

  @Test
  void durationsPrintAsGoPrintsThem() {
    assertEquals("1m0s", GoDuration.format(Duration.ofSeconds(60)));
    assertEquals("50ms", GoDuration.format(Duration.ofMillis(50)));
    assertEquals("1.5s", GoDuration.format(Duration.ofMillis(1500)));
    assertEquals("2h0m0s", GoDuration.format(Duration.ofHours(2)));
    assertEquals("1h1m1.25s", GoDuration.format(Duration.ofMillis(3_661_250)));
  }

  @Test
  void theProgramOfASimpleCommandLine() {
    assertEquals("python3", ShellWords.firstProgram("python3 /opt/oz/dispatch.py"));
    assertEquals("/opt/oz/dispatch.sh", ShellWords.firstProgram("FOO=1 exec /opt/oz/dispatch.sh --x"));
    assertNull(ShellWords.firstProgram("exit 0"));
    assertNull(ShellWords.firstProgram("\"$HOME/bin/dispatch\""));
    assertNull(ShellWords.firstProgram("if true; then x; fi"));
  }
}
