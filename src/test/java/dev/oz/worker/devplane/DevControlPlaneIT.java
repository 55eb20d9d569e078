package dev.oz.worker.devplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.WorkerVerticle;
import dev.oz.worker.docker.PullPolicy;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.testing.DockerSettings;
import dev.oz.worker.testing.Engine;
import dev.oz.worker.testing.TestVertx;
import dev.oz.worker.testing.Waits;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The local control plane driven through its HTTP API, with real workers and the real engine. */
class DevControlPlaneIT {
  private static final String KEY = "dev-admin-key";
  private static final String ECHO = "oz-dev/echo-agent:latest";
  private final HttpClient http = HttpClient.newHttpClient();
  private TestVertx testVertx;
  private DevControlPlane plane;
  private final List<String> workerIds = new ArrayList<>();
  private final List<String> deployments = new ArrayList<>();

  @BeforeEach
  void setUp() throws Exception {
    Engine.docker();
    testVertx = TestVertx.create();
    plane = new DevControlPlane("127.0.0.1", 0, KEY);
    testVertx.vertx().deployVerticle(plane).await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void tearDown() throws Exception {
    try {
      for (String deployment : deployments) { // while the control plane listens: each shutdown flushes at once
        testVertx.vertx().undeploy(deployment).await(30, TimeUnit.SECONDS);
      }
    } finally {
      try {
        testVertx.close();
      } finally {
        workerIds.forEach(Engine::removeContainersOf);
      }
    }
  }

  private String startWorker(int maxConcurrent) throws Exception {
    String id = "dev-it-" + UUID.randomUUID().toString().substring(0, 6);
    workerIds.add(id);
    WorkerOptions o = new WorkerOptions().setApiKey(KEY).setWorkerId(id).setMaxConcurrentTasks(maxConcurrent)
        .setWsUrl("ws://127.0.0.1:" + plane.port() + DevControlPlane.WS_PATH)
        .setServerRootUrl("http://127.0.0.1:" + plane.port());
    DockerSettings.edit(o, d -> d.setPullPolicy(List.of(PullPolicy.NEVER)));
    o.getMetrics().setEnabled(false);
    o.getTelemetry().disableExport();
    o.getConnection().setCloseTimeout(Duration.ofSeconds(3));
    deployments.add(testVertx.vertx().deployVerticle(new WorkerVerticle(o)).await(30, TimeUnit.SECONDS));
    return id;
  }

  private HttpResponse<String> call(String method, String path, String body, String key) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + plane.port() + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      b.header("Authorization", "Bearer " + key);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private String submit(JsonObject body) throws Exception {
    HttpResponse<String> r = call("POST", "/api/v1/tasks", body.encode(), KEY);
    assertEquals(201, r.statusCode(), r.body());
    return new JsonObject(r.body()).getString("task_id");
  }

  private JsonObject task(String id) throws Exception {
    return new JsonObject(call("GET", "/api/v1/tasks/" + id, null, KEY).body());
  }

  private void awaitState(String id, String state) {
    Waits.until(() -> {
      try {
        return state.equals(task(id).getString("state"));
      } catch (Exception e) {
        return false;
      }
    }, Duration.ofSeconds(60), () -> "task " + id + " never became " + state);
  }

  private static JsonObject echoTask(int steps) {
    return new JsonObject().put("prompt", "say hello").put("image", ECHO).put("sidecar_image", ECHO)
        .put("env", new JsonObject().put("ECHO_STEPS", String.valueOf(steps)));
  }

  @Test
  void submitFollowLogsWhileRunningAndSeeTheFinalState() throws Exception {
    startWorker(0);
    String id = submit(echoTask(3));
    HttpRequest follow = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + plane.port()
        + "/api/v1/tasks/" + id + "/logs?follow=true")).header("Authorization", "Bearer " + KEY).build();
    HttpResponse<java.io.InputStream> stream = http.send(follow, HttpResponse.BodyHandlers.ofInputStream());
    assertEquals("text/event-stream", stream.headers().firstValue("Content-Type").orElse(""));
    List<String> lines = new ArrayList<>();
    boolean sawRunning = false;
    try (BufferedReader r = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        lines.add(line);
        if (line.contains("working... step 1") && "running".equals(task(id).getString("state"))) {
          sawRunning = true; // output arrives while the task is still running
        }
      }
    }
    assertTrue(sawRunning, "logs streamed while running: " + lines);
    assertTrue(lines.contains("data: echo-agent: started for task " + id), String.join("\n", lines));
    assertTrue(lines.contains("event: stderr"), String.join("\n", lines));
    assertTrue(lines.contains("event: end"), "the stream ends with the task");
    JsonObject t = task(id);
    assertEquals("succeeded", t.getString("state"));
    assertEquals("Task completed successfully", t.getString("message"));
    String all = call("GET", "/api/v1/tasks/" + id + "/logs", null, KEY).body();
    assertTrue(all.contains("step 3 of 3") && all.endsWith("echo-agent: done\n"), all);
  }

  @Test
  void failedTaskShowsReasonAndExitCode() throws Exception {
    startWorker(0);
    JsonObject body = echoTask(1);
    body.getJsonObject("env").put("ECHO_EXIT_CODE", "5");
    String id = submit(body);
    awaitState(id, "failed");
    JsonObject t = task(id);
    assertEquals("container_exit", t.getString("failure_reason"));
    assertEquals(5, t.getInteger("exit_code"));
  }

  @Test
  void cancelARunningTask() throws Exception {
    startWorker(0);
    String id = submit(echoTask(300));
    awaitState(id, "running");
    HttpResponse<String> r = call("POST", "/api/v1/tasks/" + id + "/cancel", null, KEY);
    assertEquals(202, r.statusCode(), r.body());
    awaitState(id, "cancelled");
    assertEquals(409, call("POST", "/api/v1/tasks/" + id + "/cancel", null, KEY).statusCode());
  }

  @Test
  void rejectedTaskIsRequeuedToAWorkerWithCapacity() throws Exception {
    String busy = startWorker(1); // the only worker: the first task waits for it if it is not connected yet
    String first = submit(echoTask(300));
    awaitState(first, "running");
    String second = submit(echoTask(1));
    Waits.until(() -> {
      try {
        return task(second).getJsonArray("rejected_by", new io.vertx.core.json.JsonArray()).contains(busy);
      } catch (Exception e) {
        return false;
      }
    }, Duration.ofSeconds(20), () -> "the busy worker never rejected the task");
    String free = startWorker(1);
    awaitState(second, "succeeded");
    assertEquals(free, task(second).getString("worker_id"));
    assertEquals(busy, task(first).getString("worker_id"));
    call("POST", "/api/v1/tasks/" + first + "/cancel", null, KEY);
    awaitState(first, "cancelled");
  }

  @Test
  void wrongAdminKeyIsRefused() throws Exception {
    HttpResponse<String> r = call("GET", "/api/v1/tasks", null, "wrong");
    assertEquals(401, r.statusCode());
    assertTrue(new JsonObject(r.body()).getString("error").contains("admin key"));
    assertEquals(401, call("GET", "/api/v1/tasks", null, null).statusCode());
    Throwable refused = testVertx.vertx().createWebSocketClient().connect(new WebSocketConnectOptions()
            .setAbsoluteURI("ws://127.0.0.1:" + plane.port() + DevControlPlane.WS_PATH + "?worker_id=w")
            .addHeader("Authorization", "Bearer wrong"))
        .transform(ar -> io.vertx.core.Future.succeededFuture(ar.cause())).await(10, TimeUnit.SECONDS);
    assertEquals(401, ((UpgradeRejectedException) refused).getStatus());
  }

  @Test
  void badRequestsGet400WithAJsonError() throws Exception {
    assertBad("{not json", "must be a JSON object");
    assertBad("[1]", "must be a JSON object");
    assertBad("{}", "\"prompt\" is required");
    assertBad("{\"prompt\": \"x\", \"env\": {\"A\": 1}}", "\"env.A\" must be a string");
    assertBad("{\"prompt\": \"x\", \"shape\": {\"cpus\": 1}}", "unknown \"shape.cpus\"");
    assertBad("{\"prompt\": \"x\", \"imge\": \"y\"}", "unknown field \"imge\"");
    assertEquals(404, call("GET", "/api/v1/tasks/nope", null, KEY).statusCode());
  }

  private void assertBad(String body, String message) throws Exception {
    HttpResponse<String> r = call("POST", "/api/v1/tasks", body, KEY);
    assertEquals(400, r.statusCode(), body);
    assertTrue(new JsonObject(r.body()).getString("error").contains(message), r.body());
  }
}
