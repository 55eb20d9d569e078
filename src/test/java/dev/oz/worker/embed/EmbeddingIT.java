package dev.oz.worker.embed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.WorkerVerticle;
import dev.oz.worker.testing.Engine;
import dev.oz.worker.testing.LoopbackControlPlane;
import dev.oz.worker.testing.TestVertx;
import dev.oz.worker.testing.Waits;
import dev.oz.worker.testing.WorkerHarness;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.lang.reflect.Field;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The worker inside someone else's Vert.x application: two workers deployed with JSON config, a task each,
 * undeployed; nothing of theirs survives and the host's verticle kept its rhythm.
 */
class EmbeddingIT {

  /** The host application's own verticle: a 10 ms tick that records how late it ever ran. */
  static final class HostTicker extends VerticleBase {
    final AtomicLong maxLateMs = new AtomicLong();
    private long last;

    @Override
    public Future<?> start() {
      last = System.nanoTime();
      vertx.setPeriodic(10, id -> {
        long now = System.nanoTime();
        maxLateMs.accumulateAndGet((now - last) / 1_000_000 - 10, Math::max);
        last = now;
      });
      return Future.succeededFuture();
    }
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static JsonObject config(String workerId, LoopbackControlPlane cp, int metricsPort) {
    return new JsonObject()
        .put("api_key", "embedded-key")
        .put("worker_id", workerId)
        .put("ws_url", cp.wsUrl())
        .put("docker", new JsonObject().put("pull_policy", "never"))
        .put("metrics", new JsonObject().put("host", "127.0.0.1").put("port", metricsPort))
        .put("telemetry", new JsonObject().put("OTEL_METRICS_EXPORTER", "none"));
  }

  @SuppressWarnings("unchecked")
  private static int timers(Vertx vertx) throws Exception {
    Field f = vertx.getClass().getDeclaredField("timeouts");
    f.setAccessible(true);
    return ((Map<Long, ?>) f.get(vertx)).size();
  }

  @SuppressWarnings("unchecked")
  private static Set<String> consumerAddresses(Vertx vertx) throws Exception {
    Object bus = vertx.eventBus();
    Class<?> c = bus.getClass();
    while (c != null && !c.getSimpleName().equals("EventBusImpl")) {
      c = c.getSuperclass();
    }
    Field f = c.getDeclaredField("handlerMap");
    f.setAccessible(true);
    return new TreeSet<>(((Map<String, ?>) f.get(bus)).keySet());
  }

  private static List<String> workerThreads() {
    return Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
        .filter(n -> n.startsWith("oz-docker-") || n.startsWith("docker-java-stream-")).sorted().toList();
  }

  @Test
  void twoWorkersInOneVertxDeployRunAndUndeployCleanly() throws Exception {
    Engine.docker();
    try (TestVertx tv = TestVertx.create()) {
      Vertx vertx = tv.vertx();
      Vertx cpVertx = Vertx.vertx();
      try {
        LoopbackControlPlane cp = LoopbackControlPlane.start(cpVertx);
        HostTicker host = new HostTicker();
        vertx.deployVerticle(host).await(10, TimeUnit.SECONDS);
        // the baseline: the same tick on a Vert.x the workers do not share (same JVM, same machine, same GC pauses)
        HostTicker control = new HostTicker();
        cpVertx.deployVerticle(control).await(10, TimeUnit.SECONDS);
        int timersBefore = timers(vertx);
        Set<String> consumersBefore = consumerAddresses(vertx);
        int portA = freePort();
        int portB = freePort();

        String idA = vertx.deployVerticle(new WorkerVerticle(), new DeploymentOptions().setConfig(config("embed-a", cp, portA)))
            .await(30, TimeUnit.SECONDS);
        String idB = vertx.deployVerticle(new WorkerVerticle(), new DeploymentOptions().setConfig(config("embed-b", cp, portB)))
            .await(30, TimeUnit.SECONDS);
        cp.awaitConnections(2, Duration.ofSeconds(10));
        assertEquals(Set.of("worker_id=embed-a", "worker_id=embed-b"),
            cp.handshakes().stream().map(LoopbackControlPlane.Handshake::query).collect(Collectors.toSet()));

        // each connection gets one task; both complete
        cp.send(new JsonObject().put("type", "task_assignment").put("data", WorkerHarness.scriptTask("ea", "echo a")));
        cp.awaitMessage("task_claimed", "ea", Duration.ofSeconds(10));
        cp.send(new JsonObject().put("type", "task_assignment").put("data", WorkerHarness.scriptTask("eb", "echo b")));
        cp.awaitMessage("task_claimed", "eb", Duration.ofSeconds(10));
        cp.awaitMessage("task_completed", "ea", Duration.ofSeconds(60));
        cp.awaitMessage("task_completed", "eb", Duration.ofSeconds(60));
        Set<String> claimedBy = cp.received("task_claimed").stream()
            .map(m -> m.getJsonObject("data").getString("worker_id")).collect(Collectors.toSet());
        assertTrue(claimedBy.size() >= 1, "claims name the worker");

        vertx.undeploy(idA).await(60, TimeUnit.SECONDS);
        vertx.undeploy(idB).await(60, TimeUnit.SECONDS);

        assertEquals(List.of((short) 1000, (short) 1000), cp.closeCodes(), "both sockets closed normally");
        assertEquals(Set.of(), vertx.deploymentIDs().stream().filter(id -> !vertx.deploymentIDs().isEmpty())
            .filter(id -> !id.equals(vertx.deploymentIDs().iterator().next())).collect(Collectors.toSet()),
            "only the host's deployment is left");
        assertEquals(1, vertx.deploymentIDs().size());
        Waits.until(() -> workerThreads().isEmpty(), Duration.ofSeconds(10), () -> "threads left: " + workerThreads());
        assertEquals(timersBefore, timers(vertx), "no worker timers left");
        assertEquals(consumersBefore, consumerAddresses(vertx), "no worker event-bus consumers left");
        try (ServerSocket a = new ServerSocket(portA); ServerSocket b = new ServerSocket(portB)) {
          assertTrue(a.isBound() && b.isBound(), "metrics ports released");
        }
        assertTrue(host.maxLateMs.get() <= control.maxLateMs.get() + 250, "host verticle's 10 ms tick was late by "
            + host.maxLateMs.get() + " ms, a tick beside the workers' Vert.x by " + control.maxLateMs.get() + " ms");
      } finally {
        Engine.removeContainersOf("embed-a");
        Engine.removeContainersOf("embed-b");
        cpVertx.close().await(10, TimeUnit.SECONDS);
      }
    }
  }
}
