package dev.oz.worker.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.model.Container;
import dev.oz.worker.cli.WorkerJarIT.WorkerProcess;
import dev.oz.worker.docker.DockerBackendFactory;
import dev.oz.worker.docker.EngineDiscovery;
import dev.oz.worker.testing.Engine;
import dev.oz.worker.testing.LogCapture;
import dev.oz.worker.testing.LoopbackControlPlane;
import dev.oz.worker.testing.SecondEngine;
import dev.oz.worker.testing.TestCertificates;
import dev.oz.worker.testing.TestVertx;
import dev.oz.worker.testing.WorkerHarness;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker on an engine other than the machine's: over TCP with TLS and without (the fat jar with
 * DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, as operators run it), and on a rootless socket found
 * when the default socket is absent. Each engine is a dockerd of the test's own ({@link SecondEngine}); a task
 * that ran there is found there, and not on the machine's engine.
 */
class RemoteEngineIT {
  private static SecondEngine tlsEngine;
  /** Plain TCP, and unix sockets where a rootless engine and Docker Desktop put theirs. */
  private static SecondEngine plainEngine;
  private static Path rootlessHome;

  @TempDir
  Path tmp;

  @BeforeAll
  static void startEngines() throws Exception {
    Engine.docker();
    rootlessHome = Files.createTempDirectory("oz-rootless-home");
    // side by side: each start is mostly waiting for its dockerd
    CompletableFuture<SecondEngine> tls = CompletableFuture.supplyAsync(() -> SecondEngine.builder().tls().start());
    try {
      plainEngine = SecondEngine.builder().alsoListenOn(rootlessHome.resolve(".docker/run/docker.sock")).start();
    } finally {
      tlsEngine = tls.join();
    }
    CompletableFuture<Void> loaded = CompletableFuture.runAsync(() -> tlsEngine.loadImages(Engine.BUSYBOX, Engine.SIDECAR));
    plainEngine.loadImages(Engine.AGENT);
    loaded.join();
  }

  @AfterAll
  static void stopEngines() throws Exception {
    CompletableFuture<Void> tls = CompletableFuture.runAsync(() -> {
      if (tlsEngine != null) {
        tlsEngine.close();
      }
    });
    try {
      if (plainEngine != null) {
        plainEngine.close();
      }
    } finally {
      tls.join();
      try (var files = Files.walk(rootlessHome)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private Path conf(String workerId, String wsUrl) throws Exception {
    Path conf = tmp.resolve(workerId + ".json");
    Files.writeString(conf, new JsonObject().put("worker_id", workerId).put("ws_url", wsUrl)
        .put("cleanup", false) // the task's container stays where it ran, to be found there
        .put("docker", new JsonObject().put("pull_policy", "never"))
        .put("metrics", new JsonObject().put("enabled", false)).encode());
    return conf;
  }

  private static Map<String, String> env(Map<String, String> docker) {
    Map<String, String> env = new HashMap<>(docker);
    env.put("OZ_API_KEY", "remote-engine-key");
    return env;
  }

  /** The task's one container is on {@code engine}, exited 0; the machine's engine has none of this worker. */
  private static void assertRanOn(SecondEngine engine, String workerId, String taskId) {
    List<Container> there = engine.containersOf(workerId).stream()
        .filter(c -> taskId.equals(c.getLabels().get("oz.task.id"))).toList();
    assertEquals(1, there.size(), "the task's container on the second engine: " + there);
    assertEquals(0L, engine.docker().inspectContainerCmd(there.get(0).getId()).exec().getState().getExitCodeLong());
    assertTrue(Engine.containersOf(workerId).isEmpty(), "nothing of " + workerId + " on the machine's engine");
  }

  @Test
  void aTaskRunsOnATlsEngineNamedByDockerHost() throws Exception {
    String workerId = "tls-" + UUID.randomUUID().toString().substring(0, 8);
    String version = Files.readString(Path.of("src/test/docker/sidecar/VERSION")).trim();
    try (TestVertx tv = TestVertx.create()) {
      LoopbackControlPlane cp = LoopbackControlPlane.start(tv.vertx());
      try (WorkerProcess p = new WorkerProcess(List.of("-conf", conf(workerId, cp.wsUrl()).toString()),
          env(tlsEngine.clientEnv()), tmp.resolve("tls.log"))) {
        cp.awaitConnections(1, Duration.ofSeconds(30));
        assertTrue(p.output().contains("Docker daemon is reachable, platform: linux/")
            && p.output().contains("at " + tlsEngine.tcpAddress() + " (DOCKER_HOST, TLS with certificates from "
            + tlsEngine.certificates().clientDir() + ")"), p.output());

        // a sidecar copied through the archive API and the output streamed back, all over TLS
        cp.send(new JsonObject().put("type", "task_assignment").put("data", WorkerHarness.scriptTask("tls-task",
            "echo \"over TLS with agent $(cat /agent/VERSION)\"").put("docker_image", Engine.BUSYBOX)
            .put("sidecar_image", Engine.SIDECAR)));
        JsonObject done = cp.awaitMessage("task_completed", "tls-task", Duration.ofSeconds(60));
        assertEquals("Task completed successfully", done.getJsonObject("data").getString("message"));
        String output = String.join("", cp.received("task_log").stream()
            .map(m -> m.getJsonObject("data").getString("data")).toList());
        assertTrue(output.contains("over TLS with agent " + version + "\n"), output);
        assertRanOn(tlsEngine, workerId, "tls-task");

        p.signal("TERM");
        assertEquals(0, p.awaitExit(Duration.ofSeconds(30)), p.output());
      }
    }
  }

  @Test
  void tlsMistakesAreRefusedAtStartNamingTheAddressAndTheCause() throws Exception {
    TestCertificates otherCa = TestCertificates.create(tmp.resolve("other-ca"), "some-other-ca");
    TestCertificates engineCa = tlsEngine.certificates();
    String address = tlsEngine.tcpAddress();
    Path wrongCa = TestCertificates.certPath(tmp.resolve("wrong-ca"), otherCa, engineCa);
    Path noClientCert = TestCertificates.certPath(tmp.resolve("no-client-cert"), engineCa, null);
    Path foreignClient = TestCertificates.certPath(tmp.resolve("foreign-client"), engineCa, otherCa);
    String tlsFrom = " (DOCKER_HOST, TLS with certificates from ";
    record Mistake(String name, Map<String, String> docker, String error) {
    }
    List<Mistake> mistakes = List.of(
        new Mistake("wrong-ca", Map.of("DOCKER_HOST", address, "DOCKER_TLS_VERIFY", "1",
            "DOCKER_CERT_PATH", wrongCa.toString()), "failed to reach Docker daemon at " + address + tlsFrom + wrongCa
            + "): TLS: the engine's certificate is not signed by the CA in " + wrongCa.resolve("ca.pem")),
        new Mistake("no-client-cert", Map.of("DOCKER_HOST", address, "DOCKER_TLS_VERIFY", "1",
            "DOCKER_CERT_PATH", noClientCert.toString()), "Docker engine " + address + " (from DOCKER_HOST):"
            + " DOCKER_TLS_VERIFY is set but DOCKER_CERT_PATH " + noClientCert + " has no cert.pem, key.pem"),
        new Mistake("foreign-client", Map.of("DOCKER_HOST", address, "DOCKER_TLS_VERIFY", "1",
            "DOCKER_CERT_PATH", foreignClient.toString()), "failed to reach Docker daemon at " + address + tlsFrom
            + foreignClient + "): TLS: the engine ended the handshake: it does not accept the client certificate "
            + foreignClient.resolve("cert.pem")),
        new Mistake("no-tls", Map.of("DOCKER_HOST", address), "failed to reach Docker daemon at " + address
            + " (DOCKER_HOST): the engine expects TLS: set DOCKER_TLS_VERIFY=1"),
        new Mistake("tls-to-plain", Map.of("DOCKER_HOST", plainEngine.tcpAddress(), "DOCKER_TLS_VERIFY", "1",
            "DOCKER_CERT_PATH", engineCa.clientDir().toString()), "failed to reach Docker daemon at "
            + plainEngine.tcpAddress() + tlsFrom + engineCa.clientDir() + "): the engine does not speak TLS at this address"));

    // side by side: each is a JVM start and one refused connection
    List<WorkerProcess> runs = new ArrayList<>();
    try {
      for (Mistake m : mistakes) {
        runs.add(new WorkerProcess(List.of("-conf", conf(m.name(), "ws://127.0.0.1:9/ws").toString()), env(m.docker()),
            tmp.resolve(m.name() + ".log")));
      }
      for (int i = 0; i < mistakes.size(); i++) {
        Mistake m = mistakes.get(i);
        WorkerProcess p = runs.get(i);
        assertEquals(1, p.awaitExit(Duration.ofSeconds(60)), m.name() + ":\n" + p.output());
        assertTrue(p.output().contains("Failed to start: " + m.error()), m.name() + ":\n" + p.output());
      }
    } finally {
      runs.forEach(WorkerProcess::close);
    }
  }

  @Test
  void aTaskRunsOnAPlainTcpEngine() throws Exception {
    String workerId = "tcp-" + UUID.randomUUID().toString().substring(0, 8);
    try (TestVertx tv = TestVertx.create()) {
      LoopbackControlPlane cp = LoopbackControlPlane.start(tv.vertx());
      try (WorkerProcess p = new WorkerProcess(List.of("-conf", conf(workerId, cp.wsUrl()).toString()),
          env(plainEngine.clientEnv()), tmp.resolve("tcp.log"))) {
        cp.awaitConnections(1, Duration.ofSeconds(30));
        cp.send(new JsonObject().put("type", "task_assignment")
            .put("data", WorkerHarness.scriptTask("tcp-task", "echo plain tcp")));
        JsonObject done = cp.awaitMessage("task_completed", "tcp-task", Duration.ofSeconds(60));
        assertEquals("Task completed successfully", done.getJsonObject("data").getString("message"));
        assertRanOn(plainEngine, workerId, "tcp-task");
        assertTrue(p.output().contains("at " + plainEngine.tcpAddress() + " (DOCKER_HOST)"), p.output());
      }
    }
  }

  /** Runs one task on a worker whose engine discovery sees {@code env} and no default socket. */
  private void runWithoutDefaultSocket(Map<String, String> env, String expectedSource) {
    EngineDiscovery discovery = EngineDiscovery.of(env, tmp.resolve("no-default/docker.sock"));
    try (LogCapture logs = LogCapture.of("dev.oz.worker.docker");
         WorkerHarness h = WorkerHarness.start(new VertxOptions(), o -> o.setCleanup(false), new DockerBackendFactory(discovery))) {
      JsonObject report = h.run(WorkerHarness.scriptTask("rootless-task", "true"));
      assertEquals("task_completed", report.getString("type"), report.encode());
      assertRanOn(plainEngine, h.workerId(), "rootless-task");
      assertTrue(logs.contains(expectedSource), logs.all());
    }
  }

  /** In-process: the default socket is a parameter of discovery, pointed at a path that does not exist. */
  @Test
  void rootlessSocketsAreFoundWhenTheDefaultSocketIsAbsent() throws Exception {
    Path emptyHome = Files.createDirectories(tmp.resolve("empty-home"));
    Path runtimeDir = plainEngine.socket().getParent();
    runWithoutDefaultSocket(Map.of("HOME", emptyHome.toString(), "XDG_RUNTIME_DIR", runtimeDir.toString()),
        "at unix://" + plainEngine.socket() + " (rootless socket $XDG_RUNTIME_DIR/docker.sock; " + tmp.resolve(
            "no-default/docker.sock") + " is absent)");
    runWithoutDefaultSocket(Map.of("HOME", rootlessHome.toString(), "XDG_RUNTIME_DIR", emptyHome.toString()),
        "at unix://" + rootlessHome.resolve(".docker/run/docker.sock") + " ($HOME/.docker/run/docker.sock; "
            + tmp.resolve("no-default/docker.sock") + " is absent)");
  }
}
