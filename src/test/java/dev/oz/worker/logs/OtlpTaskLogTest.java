package dev.oz.worker.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.config.LogStreamOptions;
import dev.oz.worker.backend.OutputOrigin;
import dev.oz.worker.backend.StdStream;
import dev.oz.worker.hosted.HostedOz;
import dev.oz.worker.hosted.TaskIdentity;
import dev.oz.worker.metrics.WorkerMetrics;
import dev.oz.worker.testing.HostedOzServer;
import dev.oz.worker.testing.HostedOzServer.ReceivedLog;
import dev.oz.worker.testing.TestVertx;
import dev.oz.worker.testing.Waits;
import io.vertx.core.Context;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** One task's shipped log on its own: labels per backend, the redaction rules and the size caps. */
class OtlpTaskLogTest {
  private TestVertx tv;
  private HostedOzServer server;
  private HostedOz hosted;
  private Context context;
  private final AtomicLong droppedMetric = new AtomicLong();
  private final WorkerMetrics metrics = new WorkerMetrics() {
    @Override
    public void taskLogRecordsDropped(long records) {
      droppedMetric.addAndGet(records);
    }
  };

  @BeforeEach
  void setUp() throws Exception {
    tv = TestVertx.create();
    server = HostedOzServer.start();
    hosted = new HostedOz(tv.vertx());
    OtlpTaskLog.warmUp(hosted); // as the log-streaming verticle does at start, off the event loop
    context = tv.vertx().getOrCreateContext();
  }

  @AfterEach
  void tearDown() {
    server.close();
    tv.assertNeverBlocked();
    tv.close();
  }

  private OtlpTaskLog open(String backend, List<String> secrets) throws Exception {
    return open(backend, secrets, LogStreamOptions.DEFAULT_SHIPPED_BATCH_INTERVAL);
  }

  private OtlpTaskLog open(String backend, List<String> secrets, Duration batchInterval) throws Exception {
    TaskIdentity id = new TaskIdentity("t-1", "e-1", server.url(), "key-1234", "wl-1234");
    OtlpTaskLog[] log = new OtlpTaskLog[1];
    context.runOnContext(v -> log[0] = new OtlpTaskLog(context, hosted, id, server.url() + "/", "w-1", backend, secrets,
        metrics, batchInterval));
    while (log[0] == null) {
      Thread.sleep(5);
    }
    return log[0];
  }

  private void close(OtlpTaskLog log) throws Exception {
    io.vertx.core.Promise<Void> done = io.vertx.core.Promise.promise();
    context.runOnContext(v -> log.close(5_000).onComplete(done));
    done.future().await(10, TimeUnit.SECONDS);
  }

  private static void write(OtlpTaskLog log, OutputOrigin origin, StdStream stream, String text) {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    log.write(origin, stream, b, 0, b.length);
  }

  @Test
  void kubernetesOutputIsLabelledWithPodAndContainer() throws Exception {
    OtlpTaskLog log = open("kubernetes", List.of());
    write(log, OutputOrigin.pod("pod-a", "task"), StdStream.STDOUT, "from the task\n[setup] ");
    write(log, OutputOrigin.pod("pod-a", "task"), StdStream.STDOUT, "not a new line\n");
    close(log);
    List<ReceivedLog> got = server.logs();
    assertEquals(List.of("from the task", "[setup] not a new line"), got.stream().map(ReceivedLog::body).toList());
    assertEquals(Map.of("log.source", "pod.task", "k8s.container.name", "task", "k8s.pod.name", "pod-a"),
        got.get(0).attributes());
    assertEquals("kubernetes", got.get(0).resource().get("worker.backend"));
  }

  @Test
  void everyFormOfASecretIsRedactedAndOversizedRecordsAreReplacedOrDropped() throws Exception {
    String multiLine = "-----BEGIN KEY-----\nline-two-secret\r\n-----END KEY-----";
    OtlpTaskLog log = open("docker", List.of("pa ss<&>\"word", multiLine, "abc"));
    OutputOrigin c = OutputOrigin.container("box");
    write(log, c, StdStream.STDOUT, "raw pa ss<&>\"word\n");
    write(log, c, StdStream.STDOUT, "query pa+ss%3C%26%3E%22word\n");
    write(log, c, StdStream.STDOUT, "json {\"p\":\"pa ss\\u003c\\u0026\\u003e\\\"word\"}\n");
    write(log, c, StdStream.STDOUT, "plain json \"pa ss<&>\\\"word\"\n");
    write(log, c, StdStream.STDOUT, "key line-two-secret here\n");
    write(log, c, StdStream.STDOUT, "short abc stays\n");
    write(log, c, StdStream.STDERR, "x".repeat(17 * 1024) + "\n");
    write(log, c, StdStream.STDERR, "y".repeat(65 * 1024) + "\nafter the long line\n");
    close(log);
    assertEquals(List.of("raw [REDACTED]", "query [REDACTED]", "json {\"p\":\"[REDACTED]\"}",
            "plain json \"[REDACTED]\"", "key [REDACTED] here", "short abc stays"),
        server.bodies("t-1", "container.stdout"));
    assertEquals(List.of("[REDACTED]", "after the long line"), server.bodies("t-1", "container.stderr"),
        "over 16 KiB: replaced whole; over 64 KiB: dropped whole");
    ReceivedLog first = server.logs().get(0);
    assertEquals(Map.of("log.source", "container.stdout", "log.iostream", "stdout", "container.name", "box"),
        first.attributes());
    assertEquals(0, droppedMetric.get());
  }

  @Test
  void theIssuedTokenItselfIsRedacted() throws Exception {
    OtlpTaskLog log = open("direct", List.of());
    write(log, OutputOrigin.TASK, StdStream.STDOUT, "before\n");
    close(log);
    OtlpTaskLog second = open("direct", List.of(), Duration.ofMillis(100));
    // the first task's token is a different task's secret; this one's is redacted once issued
    write(second, OutputOrigin.TASK, StdStream.STDOUT, "warm up\n");
    // its first export (after the batch interval) is where its token is issued
    Waits.until(() -> server.bodies("t-1", "agent.stdout").contains("warm up"), Duration.ofSeconds(15),
        () -> "never exported: " + server.logs());
    write(second, OutputOrigin.TASK, StdStream.STDOUT, "leak " + HostedOzServer.token(2) + "\n");
    close(second);
    assertEquals(List.of("before", "warm up", "leak [REDACTED]"), server.bodies("t-1", "agent.stdout"));
    assertTrue(server.logs().stream().allMatch(l -> l.authorization().startsWith("Bearer issued-otel-token-")),
        server.logs().stream().map(ReceivedLog::authorization).toList().toString());
  }
}
