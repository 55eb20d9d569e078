package dev.oz.worker.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.testing.Assignments;
import dev.oz.worker.testing.DockerSettings;
import dev.oz.worker.testing.Engine;
import dev.oz.worker.testing.HostedOzServer;
import dev.oz.worker.testing.HostedOzServer.ReceivedLog;
import dev.oz.worker.testing.Waits;
import dev.oz.worker.testing.WorkerHarness;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Task logs over OTLP and setup events from real containers, against a loopback hosted Oz: the same capture feeds the
 * {@code task_log} stream.
 */
class DockerTaskLogsIT {
  private static final String SECRET = "container-secret-77";

  private static JsonObject task(String id, HostedOzServer hosted) {
    return Assignments.data(id).put("execution_id", "exec-" + id)
        .put("docker_image", Engine.BUSYBOX).put("sidecar_image", Engine.SIDECAR)
        .put("env_vars", new JsonObject()
            .put("TEST_SCRIPT", "echo \"token $MY_SECRET\"; echo to-stderr >&2; echo second line")
            .put("MY_SECRET", SECRET).put("WARP_API_KEY", "docker-task-key").put("WARP_WORKLOAD_TOKEN", "docker-wl"))
        .put("telemetry_collection", new JsonObject().put("endpoint", hosted.url()).put("logging_enabled", true));
  }

  @Test
  void containerOutputAndSetupPhasesReachHostedOzBeforeTheReport() throws Exception {
    try (HostedOzServer hosted = HostedOzServer.start();
        WorkerHarness h = WorkerHarness.start(o -> o.setServerRootUrl(hosted.url()))) {
      JsonObject report = h.run(task("d-ship", hosted));
      List<ReceivedLog> atReport = hosted.logs();
      assertEquals("task_completed", report.getString("type"), report.encode());
      assertEquals("exec-d-ship", report.getJsonObject("data").getString("execution_id"));

      List<String> stdout = bodies(atReport, "container.stdout");
      assertEquals(List.of("token [REDACTED]", "second line"), stdout.subList(stdout.size() - 2, stdout.size()),
          "the task's lines, redacted, already there when the report is: " + stdout);
      assertEquals(List.of("to-stderr"), bodies(atReport, "container.stderr"));
      ReceivedLog line = atReport.stream().filter(l -> "to-stderr".equals(l.body())).findFirst().orElseThrow();
      assertEquals("stderr", line.attributes().get("log.iostream"));
      assertFalse(String.valueOf(line.attributes().get("container.name")).isBlank(), line.attributes().toString());
      assertEquals(Map.of("service.name", "oz-agent-worker", "worker.id", h.workerId(), "worker.backend", "docker",
          "run_id", "d-ship", "execution_id", "exec-d-ship"), line.resource());
      assertEquals("Bearer " + HostedOzServer.token(1), line.authorization());
      assertTrue(atReport.stream().noneMatch(l -> l.body().contains(SECRET)));

      Waits.until(() -> hosted.clientEvents("d-ship").size() == 2, Duration.ofSeconds(10),
          () -> "setup events: " + hosted.requests());
      assertEquals(List.of("setup_worker_container_start", "setup_worker_sidecar_prep"),
          hosted.clientEvents("d-ship").stream().map(e -> e.getString("event_name")).sorted().toList(),
          "no image pull event: the images were local and the policy never pulls");
      for (HostedOzServer.Request post : hosted.requests("/client-events")) {
        assertEquals("Bearer docker-task-key", post.headers().get("authorization"));
        assertEquals("d-ship", post.headers().get("x-warp-cloud-agent-id"));
        assertEquals("docker-wl", post.headers().get("x-warp-ambient-workload-token"));
        assertEquals(false, post.json().getJsonObject("payload").getBoolean("is_error"));
      }

      String streamed = h.cp.received("task_log").stream().map(m -> m.getJsonObject("data"))
          .filter(d -> "stdout".equals(d.getString("stream"))).map(d -> d.getString("data"))
          .reduce("", String::concat);
      assertTrue(streamed.endsWith("token [REDACTED]\nsecond line\n"), "task_log is fed too: " + streamed);
    }
  }

  @Test
  void aPullThatHappensIsAPhaseAndItsFailureIsReported() throws Exception {
    try (HostedOzServer hosted = HostedOzServer.start();
        WorkerHarness h = WorkerHarness.start(o -> {
          o.setServerRootUrl(hosted.url());
          DockerSettings.edit(o, d -> d.setPullPolicy(List.of(PullPolicy.ALWAYS)));
        })) {
      JsonObject report = h.run(task("d-pull", hosted).put("docker_image", "127.0.0.1:1/oz-missing:1"));
      assertEquals("image_pull", report.getJsonObject("data").getString("failure_reason"), report.encode());
      Waits.until(() -> !hosted.clientEvents("d-pull").isEmpty(), Duration.ofSeconds(10),
          () -> "setup events: " + hosted.requests());
      List<JsonObject> events = hosted.clientEvents("d-pull");
      assertEquals(List.of("setup_worker_image_pull"), events.stream().map(e -> e.getString("event_name")).toList());
      assertEquals(true, events.get(0).getJsonObject("payload").getBoolean("is_error"));
    }
  }

  @Test
  void anOperatorVariableNamedLikeAssignmentMetadataFailsTheTaskBeforeAnyContainer() {
    try (WorkerHarness h = WorkerHarness.start(o -> o.putEnv(new dev.oz.worker.config.EnvEntry("WARP_METADATA_RUN", "op")))) {
      JsonObject report = h.run(WorkerHarness.scriptTask("d-meta", "true")
          .put("env_vars", new JsonObject().put("WARP_METADATA_RUN", "server")));
      assertEquals(new JsonObject().put("task_id", "d-meta").put("message", "Failed to execute task: metadata environment "
              + "variable WARP_METADATA_RUN conflicts with configured environment variable \"WARP_METADATA_RUN\"")
          .put("failure_reason", "container_create"), report.getJsonObject("data"));
      assertEquals(List.of(), Engine.containersOf(h.workerId()), "no container was created");
    }
  }

  private static List<String> bodies(List<ReceivedLog> logs, String source) {
    return logs.stream().filter(l -> source.equals(l.attributes().get("log.source"))).map(ReceivedLog::body).toList();
  }
}
