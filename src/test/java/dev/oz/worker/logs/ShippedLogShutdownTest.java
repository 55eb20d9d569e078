package dev.oz.worker.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.backend.StdStream;
import dev.oz.worker.backend.TaskOutput;
import dev.oz.worker.bus.Addresses;
import dev.oz.worker.bus.ShutdownCoordinator;
import dev.oz.worker.bus.WorkerBus;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.hosted.HostedTask;
import dev.oz.worker.hosted.TaskIdentity;
import dev.oz.worker.metrics.WorkerMetrics;
import dev.oz.worker.protocol.TaskAssignment;
import dev.oz.worker.testing.HostedOzServer;
import dev.oz.worker.testing.TestVertx;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Tasks still running when the worker stops (a backend that preserves them): their shipped logs are flushed together
 * on shutdown, within the flush bound even when a collector never answers.
 */
class ShippedLogShutdownTest {
  /** Shorter than the Go worker's 5 s, so the test does not wait it out. */
  private static final Duration FLUSH_BOUND = Duration.ofMillis(500);
  private TestVertx tv;
  private WorkerBus bus;
  private ShutdownCoordinator shutdown;
  private String deployment;

  @BeforeEach
  void setUp() throws Exception {
    tv = TestVertx.create();
    bus = WorkerBus.create(tv.vertx());
    shutdown = new ShutdownCoordinator();
    WorkerOptions options = new WorkerOptions().setWorkerId("w-shut").setBackend("kubernetes");
    options.getLogs().setStream(false).setShippedFlushTimeout(FLUSH_BOUND);
    deployment = tv.vertx().deployVerticle(new LogStreamingVerticle(options, bus, WorkerMetrics.NOOP, shutdown))
        .await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void tearDown() {
    tv.assertNeverBlocked();
    tv.close();
  }

  /** The baseline: how long a shutdown takes whose one running task ships to a collector that answers. */
  private Duration liveOnlyShutdown(HostedOzServer server) throws Exception {
    WorkerBus otherBus = WorkerBus.create(tv.vertx());
    ShutdownCoordinator otherShutdown = new ShutdownCoordinator();
    WorkerOptions options = new WorkerOptions().setWorkerId("w-base").setBackend("kubernetes");
    options.getLogs().setStream(false);
    String other = tv.vertx().deployVerticle(new LogStreamingVerticle(options, otherBus, WorkerMetrics.NOOP,
        otherShutdown)).await(10, TimeUnit.SECONDS);
    TaskIdentity id = new TaskIdentity("t-base", "", server.url(), "key-base", "wl-base");
    TaskOutput out = otherBus.<TaskOutput>request(Addresses.LOG_OPEN, new OpenTaskLog("t-base", "", List.of(),
        new HostedTask(id, new TaskAssignment.TelemetryCollection(server.url(), false, true, null), List.of())))
        .await(10, TimeUnit.SECONDS);
    line(out, "baseline");
    otherShutdown.markDrained();
    long t0 = System.nanoTime();
    tv.vertx().undeploy(other).await(30, TimeUnit.SECONDS);
    return Duration.ofNanos(System.nanoTime() - t0);
  }

  private TaskOutput open(String taskId, HostedOzServer server, String collector) throws Exception {
    TaskIdentity id = new TaskIdentity(taskId, "", server.url(), "key-" + taskId, "wl-" + taskId);
    HostedTask hosted = new HostedTask(id, new TaskAssignment.TelemetryCollection(collector, false, true, null),
        List.of());
    return bus.<TaskOutput>request(Addresses.LOG_OPEN, new OpenTaskLog(taskId, "", List.of(), hosted))
        .await(10, TimeUnit.SECONDS);
  }

  private static void line(TaskOutput out, String text) {
    byte[] b = (text + "\n").getBytes(StandardCharsets.UTF_8);
    out.write(StdStream.STDOUT, b, 0, b.length);
  }

  @Test
  void runningTasksAreFlushedOnShutdownAndADeadCollectorDoesNotHoldItUp() throws Exception {
    try (HostedOzServer server = HostedOzServer.start(); HostedOzServer dead = HostedOzServer.hanging()) {
      TaskOutput a = open("t-a", server, server.url());
      TaskOutput b = open("t-b", server, dead.url());
      line(a, "still running a");
      line(b, "still running b");
      shutdown.markDrained(); // the lifecycle left both tasks to the backend
      Duration baseline = liveOnlyShutdown(server);
      long t0 = System.nanoTime();
      tv.vertx().undeploy(deployment).await(30, TimeUnit.SECONDS);
      Duration took = Duration.ofNanos(System.nanoTime() - t0);
      assertEquals(List.of("still running a"), server.bodies("t-a", "task.stdout"),
          "sent on shutdown, not after the 5 s batch interval");
      // 2 s more than the flush bound for scheduling noise on a busy machine
      assertTrue(took.compareTo(baseline.plus(FLUSH_BOUND).plusSeconds(2)) < 0,
          "shutdown waited " + took + " against " + baseline + " with only a live collector (bound " + FLUSH_BOUND + ")");
      assertEquals(Map.of("log.source", "task.stdout"), server.logs().get(0).attributes());
    }
  }
}
