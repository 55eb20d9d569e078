package dev.oz.worker.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.WorkerVerticle;
import dev.oz.worker.cli.CommandLineAccess;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.devplane.DevControlPlane;
import dev.oz.worker.docker.PullPolicy;
import dev.oz.worker.testing.DockerSettings;
import dev.oz.worker.testing.Engine;
import dev.oz.worker.testing.TestVertx;
import dev.oz.worker.testing.Waits;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped example end to end (examples/command-backend): a front control plane whose only worker has the command
 * backend with {@code dispatch.py} and {@code cancel.py}, handing tasks to a runtime control plane whose Docker
 * worker runs them.
 */
class CommandBackendIT {
  private static final String FRONT_KEY = "front-key";
  private static final String RUNTIME_KEY = "runtime-key";
  private static final String ECHO = "oz-dev/echo-agent:latest";
  private static final Path EXAMPLE = Path.of("examples/command-backend").toAbsolutePath();
  private final HttpClient http = HttpClient.newHttpClient();
  private TestVertx testVertx;
  private DevControlPlane front;
  private DevControlPlane runtime;
  private String dockerWorkerId;

  @TempDir
  Path dir;

  @BeforeEach
  void setUp() throws Exception {
    Engine.docker();
    testVertx = TestVertx.create();
    front = new DevControlPlane("127.0.0.1", 0, FRONT_KEY);
    runtime = new DevControlPlane("127.0.0.1", 0, RUNTIME_KEY);
    testVertx.vertx().deployVerticle(front).await(10, TimeUnit.SECONDS);
    testVertx.vertx().deployVerticle(runtime).await(10, TimeUnit.SECONDS);

    dockerWorkerId = "cmd-it-runtime-" + UUID.randomUUID().toString().substring(0, 6);
    WorkerOptions docker = new WorkerOptions().setApiKey(RUNTIME_KEY).setWorkerId(dockerWorkerId)
        .setWsUrl("ws://127.0.0.1:" + runtime.port() + DevControlPlane.WS_PATH)
        .setServerRootUrl("http://127.0.0.1:" + runtime.port());
    DockerSettings.edit(docker, d -> d.setPullPolicy(List.of(PullPolicy.NEVER)));
    docker.getMetrics().setEnabled(false);
    docker.getConnection().setCloseTimeout(Duration.ofSeconds(3));
    testVertx.vertx().deployVerticle(new WorkerVerticle(docker)).await(30, TimeUnit.SECONDS);

    // the command worker, configured as an operator would: the example's YAML file, the key from the environment
    Path yaml = Files.writeString(dir.resolve("worker.yaml"), Files.readString(EXAMPLE.resolve("worker.yaml"))
        .replace("examples/command-backend/", EXAMPLE + "/")
        .replace("http://127.0.0.1:8081/api/v1/tasks", "http://127.0.0.1:" + runtime.port() + "/api/v1/tasks"));
    Map<String, String> env = new HashMap<>(System.getenv());
    env.keySet().removeIf(k -> k.startsWith("OZ_") || k.startsWith("WARP_"));
    env.put("OZ_API_KEY", FRONT_KEY);
    env.put("OZ_DISPATCH_API_KEY", RUNTIME_KEY);
    env.put("OZ_DISPATCH_STATE_DIR", dir.resolve("state").toString());
    WorkerOptions command = CommandLineAccess.load(List.of("--ws-url",
        "ws://127.0.0.1:" + front.port() + DevControlPlane.WS_PATH), "{\"metrics\": {\"enabled\": false}}", yaml, env);
    command.getConnection().setCloseTimeout(Duration.ofSeconds(3));
    testVertx.vertx().deployVerticle(new WorkerVerticle(command)).await(30, TimeUnit.SECONDS);
  }

  @AfterEach
  void tearDown() {
    try {
      testVertx.close();
    } finally {
      Engine.removeContainersOf(dockerWorkerId);
    }
  }

  private HttpResponse<String> call(DevControlPlane plane, String key, String method, String path, String body)
      throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + plane.port() + path))
        .header("Authorization", "Bearer " + key)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  private JsonObject awaitRuntimeTask(String frontId, String state) {
    JsonObject[] found = new JsonObject[1];
    Waits.until(() -> {
      try {
        JsonArray tasks = new JsonObject(call(runtime, RUNTIME_KEY, "GET", "/api/v1/tasks", null).body())
            .getJsonArray("tasks");
        for (Object o : tasks) {
          JsonObject t = (JsonObject) o;
          if (t.getString("title", "").equals("forward me") && state.equals(t.getString("state"))) {
            found[0] = t;
            return true;
          }
        }
        return false;
      } catch (Exception e) {
        return false;
      }
    }, Duration.ofSeconds(60), () -> "no forwarded task of " + frontId + " became " + state);
    return found[0];
  }

  @Test
  void aTaskSubmittedToTheFrontRunsOnTheRuntimeAndItsCancelReachesIt() throws Exception {
    HttpResponse<String> submitted = call(front, FRONT_KEY, "POST", "/api/v1/tasks", new JsonObject()
        .put("prompt", "say hello").put("title", "forward me").put("image", ECHO).put("sidecar_image", ECHO)
        .put("env", new JsonObject().put("ECHO_STEPS", "300").put("PROJECT_TOKEN", "tok-123456")).encode());
    assertEquals(201, submitted.statusCode(), submitted.body());
    String frontId = new JsonObject(submitted.body()).getString("task_id");

    JsonObject forwarded = awaitRuntimeTask(frontId, "running");
    String remoteId = forwarded.getString("task_id");
    Waits.until(() -> {
      try {
        return call(runtime, RUNTIME_KEY, "GET", "/api/v1/tasks/" + remoteId + "/logs", null).body()
            .contains("echo-agent: working... step 1");
      } catch (Exception e) {
        return false;
      }
    }, Duration.ofSeconds(60), () -> "the forwarded task never ran");
    JsonObject frontTask = new JsonObject(call(front, FRONT_KEY, "GET", "/api/v1/tasks/" + frontId, null).body());
    // the dispatcher's output is the front task's log (which makes it "running"); no terminal report ever comes
    assertEquals("running", frontTask.getString("state"), frontTask.encode());
    assertEquals("dispatched run " + frontId + " as " + remoteId + "\n",
        call(front, FRONT_KEY, "GET", "/api/v1/tasks/" + frontId + "/logs", null).body());
    assertEquals(remoteId, Files.readString(dir.resolve("state").resolve(frontId)).strip());
    List<String> containerEnv = List.of(Engine.docker().inspectContainerCmd(Engine.containersOf(dockerWorkerId).get(0)
        .getId()).exec().getConfig().getEnv());
    assertTrue(containerEnv.contains("OZ_DISPATCHED_RUN_ID=" + frontId), containerEnv.toString());
    assertTrue(containerEnv.contains("PROJECT_TOKEN=tok-123456"), "the task's env travelled in the payload");
    assertTrue(containerEnv.contains("TASK_ID=" + remoteId), "the runtime set its own");

    assertEquals(202, call(front, FRONT_KEY, "POST", "/api/v1/tasks/" + frontId + "/cancel", null).statusCode());
    awaitRuntimeTask(frontId, "cancelled");
    Waits.until(() -> Files.notExists(dir.resolve("state").resolve(frontId)), Duration.ofSeconds(10),
        () -> "cancel.py did not clear its record");
    assertEquals("running", new JsonObject(call(front, FRONT_KEY, "GET", "/api/v1/tasks/" + frontId, null).body())
        .getString("state"), "the runtime's agent reports, not the command worker");
  }
}
