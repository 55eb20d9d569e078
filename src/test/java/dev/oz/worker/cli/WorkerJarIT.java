package dev.oz.worker.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.testing.Engine;
import dev.oz.worker.testing.LoopbackControlPlane;
import dev.oz.worker.testing.NativeTransport;
import dev.oz.worker.testing.OtlpReceiver;
import dev.oz.worker.testing.TestVertx;
import dev.oz.worker.testing.Waits;
import dev.oz.worker.testing.WorkerHarness;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fat jar as operators run it: {@code java -jar target/worker-fat.jar ...}. */
class WorkerJarIT {
  @TempDir
  Path tmp;

  static Path jar() {
    Path jar = Path.of(System.getProperty("worker.jar", "target/worker-fat.jar"));
    assertTrue(Files.isRegularFile(jar), "build the jar first (./mvnw package): " + jar);
    return jar;
  }

  /** A running worker process with its output captured to a file. */
  static final class WorkerProcess implements AutoCloseable {
    final Process process;
    final Path output;

    WorkerProcess(List<String> args, Map<String, String> env, Path output) throws IOException {
      this(List.of(), args, env, output);
    }

    WorkerProcess(List<String> jvmArgs, List<String> args, Map<String, String> env, Path output) throws IOException {
      List<String> cmd = new ArrayList<>(List.of("java"));
      cmd.addAll(jvmArgs);
      cmd.addAll(List.of("-jar", jar().toString()));
      cmd.addAll(args);
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile());
      pb.environment().remove("OZ_API_KEY");
      pb.environment().remove("WARP_API_KEY");
      pb.environment().put("OTEL_METRICS_EXPORTER", "none"); // no collector here; a test may say otherwise
      pb.environment().putAll(env);
      this.process = pb.start();
      this.output = output;
    }

    String output() {
      try {
        return Files.readString(output, StandardCharsets.UTF_8);
      } catch (IOException e) {
        return "";
      }
    }

    int awaitExit(Duration timeout) throws InterruptedException {
      assertTrue(process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS), "process did not exit:\n" + output());
      return process.exitValue();
    }

    /** Sends a signal the way an init system would. */
    void signal(String name) throws Exception {
      new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start().waitFor();
    }

    @Override
    public void close() {
      process.destroyForcibly();
    }
  }

  private int runToExit(List<String> args, Map<String, String> env, StringBuilder out) throws Exception {
    try (WorkerProcess p = new WorkerProcess(args, env, tmp.resolve("out-" + UUID.randomUUID() + ".log"))) {
      int code = p.awaitExit(Duration.ofSeconds(30));
      out.append(p.output());
      return code;
    }
  }

  @Test
  void configurationErrorsExitWithStatus2AndAClearMessage() throws Exception {
    StringBuilder out = new StringBuilder();
    assertEquals(2, runToExit(List.of("--worker-id", "w"), Map.of(), out));
    assertTrue(out.toString().contains("error: missing API key"), out.toString());

    Path yaml = tmp.resolve("w.yaml");
    Files.writeString(yaml, "worker_id: w\nmax_concurent_tasks: 2\n");
    out.setLength(0);
    assertEquals(2, runToExit(List.of("--config-file", yaml.toString()), Map.of("OZ_API_KEY", "k"), out));
    assertTrue(out.toString().contains(yaml + ": line 2: unknown key \"max_concurent_tasks\""), out.toString());

    out.setLength(0);
    assertEquals(2, runToExit(List.of("--worker-id", "warpy"), Map.of("OZ_API_KEY", "k"), out));
    assertTrue(out.toString().contains("values starting with 'warp' are reserved"), out.toString());

    out.setLength(0);
    assertEquals(0, runToExit(List.of("--version"), Map.of(), out));
    assertTrue(out.toString().startsWith("oz-agent-worker "), out.toString());
  }

  @Test
  void unreachableEngineIsRefusedAtStartWithExitStatus1() throws Exception {
    StringBuilder out = new StringBuilder();
    Path conf = tmp.resolve("w.json");
    Files.writeString(conf, new JsonObject().put("worker_id", "w").put("ws_url", "ws://127.0.0.1:9/ws")
        .put("docker", new JsonObject().put("host", "unix:///nonexistent/docker.sock"))
        .put("metrics", new JsonObject().put("enabled", false)).encode());
    assertEquals(1, runToExit(List.of("-conf", conf.toString()), Map.of("OZ_API_KEY", "k"), out));
    assertTrue(out.toString().contains("failed to reach Docker daemon"), out.toString());
  }

  @Test
  void runsATaskInALocalImageAndShutsDownOnSigterm() throws Exception {
    Engine.docker();
    String workerId = "jar-" + UUID.randomUUID().toString().substring(0, 8);
    try (TestVertx tv = TestVertx.create()) {
      LoopbackControlPlane cp = LoopbackControlPlane.start(tv.vertx());
      Path conf = tmp.resolve("worker.json");
      int metricsPort;
      try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
        metricsPort = s.getLocalPort();
      }
      Files.writeString(conf, new JsonObject()
          .put("worker_id", workerId)
          .put("ws_url", cp.wsUrl())
          .put("docker", new JsonObject().put("pull_policy", "never"))
          .put("metrics", new JsonObject().put("host", "127.0.0.1").put("port", metricsPort)).encodePrettily());
      try (WorkerProcess p = new WorkerProcess(List.of("-conf", conf.toString(), "-e", "FROM_FLAG=yes"),
          Map.of("OZ_API_KEY", "jar-secret-key"), tmp.resolve("worker.log"))) {
        cp.awaitConnections(1, Duration.ofSeconds(30));
        LoopbackControlPlane.Handshake hs = cp.handshakes().get(0);
        assertEquals("worker_id=" + workerId, hs.query());
        assertEquals("Bearer jar-secret-key", hs.authorization());

        cp.send(new JsonObject().put("type", "task_assignment")
            .put("data", WorkerHarness.scriptTask("jar-task", "test \"$FROM_FLAG\" = yes")));
        cp.awaitMessage("task_claimed", "jar-task", Duration.ofSeconds(10));
        JsonObject done = cp.awaitMessage("task_completed", "jar-task", Duration.ofSeconds(60));
        assertEquals("Task completed successfully", done.getJsonObject("data").getString("message"));

        String scrape = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
            java.net.URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        assertTrue(scrape.contains("oz_worker_tasks_completed_total{result=\"succeeded\"} 1.0"), scrape);
        assertTrue(scrape.contains("vertx_"), "Vert.x metrics of the command-line worker");
        assertTrue(NativeTransport.epollIn(p.process.pid()),
            "the command-line worker's event loops run on Netty's epoll transport");

        p.signal("TERM");
        assertEquals(0, p.awaitExit(Duration.ofSeconds(30)), p.output());
        assertTrue(cp.closeCodes().contains((short) 1000), "closed with 1000: " + cp.closeCodes());
        assertTrue(p.output().contains("Received signal SIGTERM"), p.output());
        assertFalse(p.output().contains("jar-secret-key"), "the API key is never logged");
        // the command line's log format and level, set in code: time, level, logger, key-values, message
        assertTrue(java.util.regex.Pattern.compile("(?m)^\\d{2}:\\d{2}:\\d{2}\\.\\d{3} INFO  WorkerVerticle  - Starting worker "
            + workerId + " \\(backend docker").matcher(p.output()).find(), p.output());
        assertTrue(java.util.regex.Pattern.compile("(?m)^\\d{2}:\\d{2}:\\d{2}\\.\\d{3} INFO  TaskLifecycleVerticle "
            + "task_id=\"jar-task\" - ").matcher(p.output()).find(), p.output());
        assertFalse(p.output().contains(" DEBUG "), "info by default");
      } finally {
        Engine.removeContainersOf(workerId);
      }
    }
  }

  @Test
  void withoutEpollTheWorkerSaysSoAndRunsATaskOnNio() throws Exception {
    Engine.docker();
    String workerId = "jar-nio-" + UUID.randomUUID().toString().substring(0, 8);
    try (TestVertx tv = TestVertx.create()) {
      LoopbackControlPlane cp = LoopbackControlPlane.start(tv.vertx());
      Path conf = confFor(cp, workerId, "0s");
      try (WorkerProcess p = new WorkerProcess(List.of("-Dio.netty.transport.noNative=true"),
          List.of("-conf", conf.toString()), Map.of("OZ_API_KEY", "nio-test-key"), tmp.resolve("nio.log"))) {
        cp.awaitConnections(1, Duration.ofSeconds(30));
        assertTrue(java.util.regex.Pattern.compile("(?m) INFO  Main  - Netty's epoll transport is unavailable \\(.*"
            + "noNative.*\\): the event loops use Java NIO").matcher(p.output()).find(), p.output());
        assertFalse(NativeTransport.epollIn(p.process.pid()), "event loops on NIO");
        // the engine's log follow and event stream over the unix socket on NIO too (an embedding's Vert.x may be)
        cp.send(new JsonObject().put("type", "task_assignment")
            .put("data", WorkerHarness.scriptTask("nio-task", "echo on-nio")));
        JsonObject done = cp.awaitMessage("task_completed", "nio-task", Duration.ofSeconds(60));
        assertEquals("Task completed successfully", done.getJsonObject("data").getString("message"));
        String streamed = cp.received("task_log").stream().map(m -> m.getJsonObject("data"))
            .filter(d -> "nio-task".equals(d.getString("task_id"))).map(d -> d.getString("data"))
            .collect(java.util.stream.Collectors.joining());
        assertTrue(streamed.endsWith("\non-nio\n"), "the task's output, followed over NIO: " + streamed);
        p.signal("TERM");
        assertEquals(0, p.awaitExit(Duration.ofSeconds(30)), p.output());
      } finally {
        Engine.removeContainersOf(workerId);
      }
    }
  }

  private Path confFor(LoopbackControlPlane cp, String workerId, String grace) throws IOException {
    Path conf = tmp.resolve("worker-" + workerId + ".json");
    Files.writeString(conf, new JsonObject()
        .put("worker_id", workerId)
        .put("ws_url", cp.wsUrl())
        .put("shutdown_grace_period", grace)
        .put("docker", new JsonObject().put("pull_policy", "never").put("cancel_grace_period", "5s"))
        .put("metrics", new JsonObject().put("enabled", false)).encodePrettily());
    return conf;
  }

  @Test
  void sigtermStopsClaimingAndASecondSignalCancelsAtOnce() throws Exception {
    Engine.docker();
    String workerId = "jar-" + UUID.randomUUID().toString().substring(0, 8);
    try (TestVertx tv = TestVertx.create()) {
      LoopbackControlPlane cp = LoopbackControlPlane.start(tv.vertx());
      try (WorkerProcess p = new WorkerProcess(List.of("-conf", confFor(cp, workerId, "10m").toString(), "--log-format", "json"),
          Map.of("OZ_API_KEY", "k"), tmp.resolve("sig.log"))) {
        cp.awaitConnections(1, Duration.ofSeconds(30));
        cp.send(new JsonObject().put("type", "task_assignment")
            .put("data", WorkerHarness.scriptTask("long", "trap 'exit 143' TERM; sleep 300 & wait")));
        cp.awaitMessage("task_claimed", "long", Duration.ofSeconds(10));
        Waits.until(() -> Engine.containersOf(workerId).stream().anyMatch(c -> "running".equals(c.getState())),
            Duration.ofSeconds(30), () -> "task container not running");

        p.signal("TERM");
        Waits.until(() -> p.output().contains("shutting down gracefully"), Duration.ofSeconds(10), p::output);
        cp.send(new JsonObject().put("type", "task_assignment").put("data", WorkerHarness.scriptTask("late", "true")));
        JsonObject rejected = cp.awaitMessage("task_rejected", "late", Duration.ofSeconds(10));
        assertEquals("worker is shutting down", rejected.getJsonObject("data").getString("reason"));
        Waits.sleep(1_000);
        assertTrue(cp.received("task_failed").isEmpty(), "the grace period (10m) lets the task run");

        p.signal("TERM");
        JsonObject failed = cp.awaitMessage("task_failed", "long", Duration.ofSeconds(20));
        assertEquals("graceful_shutdown", failed.getJsonObject("data").getString("failure_reason"));
        assertEquals(0, p.awaitExit(Duration.ofSeconds(30)), p.output());
        assertTrue(cp.closeCodes().contains((short) 1000), "closed with 1000: " + cp.closeCodes());
        assertTrue(Engine.containersOf(workerId).isEmpty(), "no container left");

        // --log-format json: every line is one JSON object; task lines carry task_id
        List<JsonObject> lines = p.output().lines().filter(l -> !l.isBlank()).map(JsonObject::new).toList();
        assertTrue(lines.stream().anyMatch(l -> "long".equals(l.getString("task_id"))
            && l.getString("message").startsWith("Received task assignment")), p.output());
        assertTrue(lines.stream().allMatch(l -> l.containsKey("time") && l.containsKey("level") && l.containsKey("message")));
      } finally {
        Engine.removeContainersOf(workerId);
      }
    }
  }

  @Test
  void gracePeriodLetsRunningTasksFinish() throws Exception {
    Engine.docker();
    String workerId = "jar-" + UUID.randomUUID().toString().substring(0, 8);
    try (TestVertx tv = TestVertx.create()) {
      LoopbackControlPlane cp = LoopbackControlPlane.start(tv.vertx());
      try (WorkerProcess p = new WorkerProcess(List.of("-conf", confFor(cp, workerId, "30s").toString()),
          Map.of("OZ_API_KEY", "k"), tmp.resolve("grace.log"))) {
        cp.awaitConnections(1, Duration.ofSeconds(30));
        cp.send(new JsonObject().put("type", "task_assignment").put("data", WorkerHarness.scriptTask("short", "sleep 3")));
        cp.awaitMessage("task_claimed", "short", Duration.ofSeconds(10));
        Waits.until(() -> Engine.containersOf(workerId).stream().anyMatch(c -> "running".equals(c.getState())),
            Duration.ofSeconds(30), () -> "task container not running");
        p.signal("INT");
        JsonObject done = cp.awaitMessage("task_completed", "short", Duration.ofSeconds(30));
        assertEquals("Task completed successfully", done.getJsonObject("data").getString("message"));
        assertEquals(0, p.awaitExit(Duration.ofSeconds(30)), p.output());
        assertTrue(cp.closeCodes().contains((short) 1000));
      } finally {
        Engine.removeContainersOf(workerId);
      }
    }
  }

  @Test
  void devModeRunsTheQuickStart() throws Exception {
    Engine.docker();
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    String base = "http://127.0.0.1:" + port;
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    try (WorkerProcess p = new WorkerProcess(List.of("dev", "--port", String.valueOf(port), "--metrics-port", "0"),
        Map.of("OZ_ADMIN_API_KEY", "quick-start-key"), tmp.resolve("dev.log"))) {
      Waits.until(() -> p.output().contains("Successfully connected to server"), Duration.ofSeconds(60), p::output);
      assertTrue(p.output().contains("admin key:  quick-start-key"), p.output());
      java.net.http.HttpResponse<String> submitted = http.send(java.net.http.HttpRequest.newBuilder(
              java.net.URI.create(base + "/api/v1/tasks"))
          .header("Authorization", "Bearer quick-start-key")
          .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
              "{\"prompt\": \"say hello\", \"image\": \"oz-dev/echo-agent\", \"sidecar_image\": \"oz-dev/echo-agent\"}"))
          .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
      assertEquals(201, submitted.statusCode(), submitted.body());
      String id = new JsonObject(submitted.body()).getString("task_id");
      String events = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/api/v1/tasks/" + id
          + "/logs?follow=true")).header("Authorization", "Bearer quick-start-key").build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).body();
      assertTrue(events.contains("data: echo-agent: working... step 5 of 5"), events);
      assertTrue(events.contains("event: end\ndata: {") && events.contains("\"state\":\"succeeded\""), events);
      p.signal("TERM");
      assertEquals(0, p.awaitExit(Duration.ofSeconds(30)), p.output());
    } finally {
      Engine.removeContainersOf("dev-worker");
    }
  }

  @Test
  void theFatJarPushesOtlpFromTheEnvironmentAndRefusesGrpc() throws Exception {
    Engine.docker();
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    // the SDK's exporters are found through the shaded jar's merged service files
    try (OtlpReceiver otlp = OtlpReceiver.start();
         WorkerProcess p = new WorkerProcess(List.of("dev", "--port", String.valueOf(port), "--metrics-port", "0"),
             Map.of("OTEL_METRICS_EXPORTER", "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint(),
                 "OTEL_METRIC_EXPORT_INTERVAL", "200"), tmp.resolve("otlp.log"))) {
      Waits.until(() -> otlp.latest("oz_worker_info").isPresent(), Duration.ofSeconds(60), p::output);
      assertTrue(p.output().contains("OpenTelemetry: metrics OTLP to " + otlp.endpoint() + "/v1/metrics, traces off"),
          p.output());
      p.signal("TERM");
      assertEquals(0, p.awaitExit(Duration.ofSeconds(30)), p.output());
    } finally {
      Engine.removeContainersOf("dev-worker");
    }
    StringBuilder out = new StringBuilder();
    assertEquals(2, runToExit(List.of("--worker-id", "w"), Map.of("OZ_API_KEY", "k", "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"), out));
    assertTrue(out.toString().contains("error: OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported by this worker"), out.toString());
  }

  @Test
  void wssUsesTheJvmTrustStore() throws Exception {
    Engine.docker();
    Path keystore = tmp.resolve("cp.p12");
    Process keytool = new ProcessBuilder("keytool", "-genkeypair", "-alias", "cp", "-keyalg", "RSA", "-keysize", "2048",
        "-dname", "CN=localhost", "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-validity", "2",
        "-storetype", "PKCS12", "-keystore", keystore.toString(), "-storepass", "changeit", "-keypass", "changeit")
        .redirectErrorStream(true).start();
    assertEquals(0, keytool.waitFor(), new String(keytool.getInputStream().readAllBytes()));
    try (TestVertx tv = TestVertx.create()) {
      LoopbackControlPlane cp = LoopbackControlPlane.startTls(tv.vertx(),
          new io.vertx.core.net.PfxOptions().setPath(keystore.toString()).setPassword("changeit"));
      Path conf = tmp.resolve("tls.json");
      Files.writeString(conf, new JsonObject().put("worker_id", "tls-worker").put("ws_url", cp.wsUrl())
          .put("metrics", new JsonObject().put("enabled", false)).encode());
      // without the certificate in the trust store the handshake fails ...
      try (WorkerProcess untrusted = new WorkerProcess(List.of("-conf", conf.toString()), Map.of("OZ_API_KEY", "k"),
          tmp.resolve("untrusted.log"))) {
        Waits.until(() -> untrusted.output().contains("Failed to connect"), Duration.ofSeconds(30), untrusted::output);
        assertTrue(cp.handshakes().isEmpty(), "no WebSocket handshake over an untrusted certificate");
      }
      // ... with it (the JVM's trust store, as operators configure it) the worker connects over wss://
      try (WorkerProcess trusted = new WorkerProcess(List.of("-Djavax.net.ssl.trustStore=" + keystore,
          "-Djavax.net.ssl.trustStorePassword=changeit", "-Djavax.net.ssl.trustStoreType=PKCS12"),
          List.of("-conf", conf.toString()), Map.of("OZ_API_KEY", "k"), tmp.resolve("trusted.log"))) {
        cp.awaitConnections(1, Duration.ofSeconds(30));
        assertEquals("Bearer k", cp.handshakes().get(0).authorization());
      }
    }
  }

  /** Writes a docker CLI context named {@code name} pointing at {@code host} into a config folder. */
  private static void dockerContext(Path configDir, String name, String host) throws Exception {
    String id = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
        .digest(name.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    Path meta = Files.createDirectories(configDir.resolve("contexts/meta/" + id));
    Files.writeString(meta.resolve("meta.json"), new JsonObject().put("Name", name).put("Metadata", new JsonObject())
        .put("Endpoints", new JsonObject().put("docker", new JsonObject().put("Host", host).put("SkipTLSVerify", false)))
        .encode());
  }

  @Test
  void engineDiscoveryFollowsDockerContextAndApiVersion() throws Exception {
    Engine.docker();
    Path conf = tmp.resolve("discovery.json");
    Files.writeString(conf, new JsonObject().put("worker_id", "discovery").put("ws_url", "ws://127.0.0.1:9/ws")
        .put("metrics", new JsonObject().put("enabled", false)).encode());
    Path dockerConfig = Files.createDirectories(tmp.resolve("docker-config"));
    dockerContext(dockerConfig, "oz-good", "unix:///var/run/docker.sock");
    dockerContext(dockerConfig, "oz-bad", "unix:///nonexistent/oz.sock");

    // a context pointing nowhere is used (and refused) ...
    StringBuilder out = new StringBuilder();
    assertEquals(1, runToExit(List.of("-conf", conf.toString()), Map.of("OZ_API_KEY", "k",
        "DOCKER_CONFIG", dockerConfig.toString(), "DOCKER_CONTEXT", "oz-bad"), out));
    assertTrue(out.toString().contains("failed to reach Docker daemon") && out.toString().contains("nonexistent"), out.toString());

    // ... a good context and an API version the engine speaks work ...
    try (WorkerProcess p = new WorkerProcess(List.of("-conf", conf.toString()), Map.of("OZ_API_KEY", "k",
        "DOCKER_CONFIG", dockerConfig.toString(), "DOCKER_CONTEXT", "oz-good", "DOCKER_API_VERSION", "1.41"),
        tmp.resolve("good.log"))) {
      Waits.until(() -> p.output().contains("Docker daemon is reachable, platform: linux/"), Duration.ofSeconds(30), p::output);
    }

    // ... and DOCKER_API_VERSION is really sent: one the engine does not speak is refused
    out.setLength(0);
    assertEquals(1, runToExit(List.of("-conf", conf.toString()), Map.of("OZ_API_KEY", "k",
        "DOCKER_HOST", "unix:///var/run/docker.sock", "DOCKER_API_VERSION", "1.99"), out));
    assertTrue(out.toString().contains("1.99"), out.toString());
  }
}
