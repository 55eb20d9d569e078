package dev.oz.worker.direct;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.testing.Assignments;
import dev.oz.worker.testing.HostedOzServer;
import dev.oz.worker.testing.HostedOzServer.ReceivedLog;
import dev.oz.worker.testing.WorkerHarness;
import dev.oz.worker.testing.Waits;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Task logs over OTLP and setup events with the direct backend, against a loopback hosted Oz (identity token, client
 * events, log collector): a fake {@code oz} prints what the test needs.
 */
class DirectTaskLogsTest {
  private static final String API_KEY = "task-api-key-0123";
  private static final String WORKLOAD = "workload-token-4567";
  private static final String SECRET = "s3cr3t value&more";
  private static final String BOOTSTRAP = "bootstrap-token-89ab";
  private static final String FAKE_OZ = """
      #!/bin/sh
      echo "fake oz: token $SECRET_TOKEN"
      echo "in a url: ?t=s3cr3t+value%26more"
      echo "bootstrap $BOOTSTRAP_ECHO"
      echo
      i=1
      while [ "$i" -le "${FAKE_LINES:-0}" ]; do
        echo "out line $i"
        echo "err line $i" >&2
        i=$((i + 1))
      done
      if [ -n "$FAKE_SLEEP" ]; then sleep "$FAKE_SLEEP"; fi
      printf 'last line without newline'
      """;

  @TempDir
  Path dir;
  private Map<String, String> hostEnv;
  private WorkerHarness worker;
  private HostedOzServer hosted;
  private HostedOzServer deadCollector;

  @BeforeEach
  void setUp() throws Exception {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Path oz = Files.writeString(bin.resolve("oz"), FAKE_OZ);
    Files.setPosixFilePermissions(oz, PosixFilePermissions.fromString("rwxr-xr-x"));
    hostEnv = new HashMap<>(Map.of("OZ_API_KEY", "direct-worker-api-key", "PATH", bin + ":/usr/bin:/bin",
        "HOME", dir.resolve("home").toString(), "TMPDIR", dir.resolve("tmp").toString()));
    worker = WorkerHarness.fromCommandLine();
    hosted = HostedOzServer.start();
  }

  @AfterEach
  void tearDown() throws Exception {
    try {
      worker.close();
    } finally {
      hosted.close();
      if (deadCollector != null) {
        deadCollector.close();
      }
    }
  }

  private void start(String... flags) throws Exception {
    start(new JsonObject(), flags);
  }

  private void start(JsonObject logs, String... flags) throws Exception {
    JsonObject conf = new JsonObject().put("metrics", new JsonObject().put("enabled", false)).put("logs", logs)
        .put("direct", new JsonObject().put("workspace_root", dir.resolve("ws").toString())
            .put("setup_command", "echo setting up; echo hook complaint >&2"));
    List<String> all = new ArrayList<>(List.of("--backend", "direct", "--worker-id", "direct-logs",
        "--server-root-url", hosted.url() + "/"));
    all.addAll(List.of(flags));
    worker.start(conf.encode(), null, hostEnv, all.toArray(String[]::new));
  }

  private static JsonObject task(String id, String collector, Map<String, String> extraEnv) {
    JsonObject env = new JsonObject().put("WARP_API_KEY", API_KEY).put("WARP_WORKLOAD_TOKEN", WORKLOAD)
        .put("SECRET_TOKEN", SECRET).put("BOOTSTRAP_ECHO", BOOTSTRAP);
    extraEnv.forEach(env::put);
    return Assignments.data(id).put("execution_id", "exec-" + id).put("env_vars", env)
        .put("telemetry_collection", new JsonObject().put("endpoint", collector).put("logging_enabled", true)
            .put("tracing_enabled", false).put("bootstrap_token", new JsonObject().put("token", BOOTSTRAP)
                .put("expires_at", Instant.now().plusSeconds(600).toString())));
  }

  @Test
  void outputSetupEventsAndTokenReachHostedOzBeforeTheReport() throws Exception {
    start();
    worker.assign(task("t-ship", hosted.url() + "/otel/", Map.of("FAKE_LINES", "2")));
    JsonObject report = worker.awaitReport("t-ship");
    // everything already there when the report is: without the flush they would wait for the 5 s batch interval
    List<ReceivedLog> atReport = hosted.logs();
    assertEquals("Task completed successfully", report.getString("message"), report.encode());

    List<HostedOzServer.Request> tokenRequests = hosted.requests("/graphql/v2");
    assertEquals(1, tokenRequests.size(), "one token for the whole task");
    HostedOzServer.Request token = tokenRequests.get(0);
    assertEquals("POST", token.method());
    assertEquals("Bearer " + API_KEY, token.headers().get("authorization"));
    assertEquals("t-ship", token.headers().get("x-warp-cloud-agent-id"));
    assertEquals(WORKLOAD, token.headers().get("x-warp-ambient-workload-token"));
    assertEquals("application/json", token.headers().get("content-type"));
    assertEquals(new JsonObject()
        .put("query", "mutation WorkerLogToken($input: IssueTaskIdentityTokenInput!) { issueTaskIdentityToken("
            + "requestContext: {osContext: {}, clientContext: {}}, input: $input) { __typename ... on "
            + "IssueTaskIdentityTokenOutput { token expiresAt } } }")
        .put("variables", new JsonObject().put("input", new JsonObject().put("audience", "warp-cloud-agent-otel")
            .put("requestedDurationSeconds", 10800))), token.json());

    assertEquals(List.of("fake oz: token [REDACTED]", "in a url: ?t=[REDACTED]", "bootstrap [REDACTED]",
        "out line 1", "out line 2", "last line without newline"), bodies(atReport, "agent.stdout"));
    assertEquals(List.of("err line 1", "err line 2"), bodies(atReport, "agent.stderr"));
    assertEquals(List.of("setting up"), bodies(atReport, "hook.stdout"));
    assertEquals(List.of("hook complaint"), bodies(atReport, "hook.stderr"));
    for (ReceivedLog l : atReport) {
      assertEquals(Map.of("service.name", "oz-agent-worker", "worker.id", "direct-logs", "worker.backend", "direct",
          "run_id", "t-ship", "execution_id", "exec-t-ship"), l.resource());
      assertEquals("oz-agent-worker.task", l.scope());
      assertEquals("info", l.severityText());
      assertEquals("Bearer " + HostedOzServer.token(1), l.authorization(), "the issued token, never the task's key");
      assertFalse(l.body().contains(SECRET) || l.body().contains(BOOTSTRAP) || l.body().contains(API_KEY), l.body());
    }
    ReceivedLog event = atReport.stream().filter(l -> "setup_worker_setup_command".equals(l.attributes().get("event.name")))
        .findFirst().orElseThrow(() -> new AssertionError("no setup event record in " + atReport));
    assertEquals("setup_worker_setup_command", event.body());
    assertEquals(false, event.attributes().get("is_error"));

    Waits.until(() -> hosted.clientEvents("t-ship").size() == 1, Duration.ofSeconds(5),
        () -> "setup event not posted: " + hosted.requests());
    HostedOzServer.Request post = hosted.requests("/client-events").get(0);
    assertEquals("/api/v1/agent/runs/t-ship/client-events", post.path());
    assertEquals("Bearer " + API_KEY, post.headers().get("authorization"));
    assertEquals("t-ship", post.headers().get("x-warp-cloud-agent-id"));
    assertEquals(WORKLOAD, post.headers().get("x-warp-ambient-workload-token"));
    JsonObject body = post.json();
    assertEquals("setup_worker_setup_command", body.getString("event_name"));
    assertEquals(36, body.getString("event_uuid").length());
    JsonObject payload = body.getJsonObject("payload");
    assertEquals(body.getString("timestamp"), payload.getString("finish_ts"));
    Duration took = Duration.between(Instant.parse(payload.getString("start_ts")), Instant.parse(payload.getString("finish_ts")));
    assertEquals((double) took.toMillis(), payload.getDouble("latency_ms"));
    assertEquals(false, payload.getBoolean("is_error"));
    assertEquals(List.of("is_error", "latency_ms", "start_ts", "finish_ts").stream().sorted().toList(),
        payload.fieldNames().stream().sorted().toList());

    assertEquals("setting up\nfake oz: token [REDACTED]\nin a url: ?t=s3cr3t+value%26more\nbootstrap [REDACTED]"
            + "\n\nout line 1\nout line 2\nlast line without newline", worker.log("t-ship", "stdout"),
        "the task_log stream is fed from the same capture (with its own redaction: raw values only)");
  }

  @Test
  void collectTaskLogsFalseShipsNothingButSetupEventsStillGo() throws Exception {
    start("--collect-task-logs=false");
    worker.assign(task("t-off", hosted.url(), Map.of("FAKE_LINES", "3")));
    worker.awaitReport("t-off");
    Waits.until(() -> hosted.clientEvents("t-off").size() == 1, Duration.ofSeconds(5),
        () -> "setup event not posted: " + hosted.requests());
    assertEquals(List.of(), hosted.requests("/v1/logs"));
    assertEquals(List.of(), hosted.requests("/graphql/v2"), "no token asked for when nothing is shipped");
  }

  @Test
  void aCollectorThatRefusesThenRecoversLosesNothingWithinTheQueueBound() throws Exception {
    start();
    hosted.refuseLogs(2, 503); // retried after 0.5 s, then 1 s: within the task's 2 s
    worker.assign(task("t-503", hosted.url(), Map.of("FAKE_LINES", "300", "FAKE_SLEEP", "2")));
    worker.awaitReport("t-503");
    List<String> expectedOut = new ArrayList<>(List.of("fake oz: token [REDACTED]", "in a url: ?t=[REDACTED]",
        "bootstrap [REDACTED]"));
    IntStream.rangeClosed(1, 300).forEach(i -> expectedOut.add("out line " + i));
    expectedOut.add("last line without newline");
    assertEquals(expectedOut, hosted.bodies("t-503", "agent.stdout"));
    assertEquals(IntStream.rangeClosed(1, 300).mapToObj(i -> "err line " + i).toList(),
        hosted.bodies("t-503", "agent.stderr"));
    assertTrue(hosted.logs().stream().noneMatch(l -> l.body().contains("dropped")), "no loss announced");
    assertTrue(hosted.requests("/v1/logs").size() > 2, "two refusals, then the exports that carried everything");
  }

  @Test
  void recordsBeyondTheQueueAreCountedAndTheLossIsAnnounced() throws Exception {
    start();
    hosted.refuseLogs(2, 503);
    worker.assign(task("t-full", hosted.url(), Map.of("FAKE_LINES", "700", "FAKE_SLEEP", "2")));
    worker.awaitReport("t-full");
    List<ReceivedLog> all = hosted.logs();
    ReceivedLog closing = all.stream().filter(l -> "worker".equals(l.attributes().get("log.source"))).findFirst()
        .orElseThrow(() -> new AssertionError("no closing record"));
    long dropped = (Long) closing.attributes().get("oz.dropped_records");
    assertEquals("warn", closing.severityText());
    assertTrue(closing.body().contains(dropped + " task log record(s) of this task were dropped"), closing.body());
    long shipped = all.stream().filter(l -> !"worker".equals(l.attributes().get("log.source"))).count();
    // 1400 lines, 4 more, 2 of the hook, 1 setup event: each one either arrived or was counted
    assertEquals(1400 + 4 + 2 + 1, shipped + dropped);
    assertTrue(dropped > 0, "more than the queue holds was printed while the collector refused");
    assertEquals(all.get(all.size() - 1), closing, "the closing record comes last");
  }

  @Test
  void aDeadCollectorDelaysTheReportByNoMoreThanTheFlushBound() throws Exception {
    deadCollector = HostedOzServer.hanging();
    start(new JsonObject().put("shipped_flush_timeout", "1s")); // the Go worker's 5 s would only slow the test
    // the baseline: the same task shipping to a collector that answers
    long t0 = System.nanoTime();
    worker.assign(task("t-live", hosted.url(), Map.of("FAKE_LINES", "5")));
    assertEquals("Task completed successfully", worker.awaitReport("t-live").getString("message"));
    Duration baseline = Duration.ofNanos(System.nanoTime() - t0);
    long t1 = System.nanoTime();
    worker.assign(task("t-dead", deadCollector.url(), Map.of("FAKE_LINES", "5")));
    JsonObject report = worker.awaitReport("t-dead");
    Duration took = Duration.ofNanos(System.nanoTime() - t1);
    assertEquals("Task completed successfully", report.getString("message"));
    // 2 s more than the flush bound for scheduling noise on a busy machine
    assertTrue(took.compareTo(baseline.plusSeconds(1 + 2)) < 0, "the report waited " + took
        + " for a collector that never answers, against " + baseline + " with one that answers (bound 1 s)");
    assertFalse(deadCollector.requests("/v1/logs").isEmpty(), "an export was attempted");
  }

  private static List<String> bodies(List<ReceivedLog> logs, String source) {
    return logs.stream().filter(l -> source.equals(l.attributes().get("log.source"))).map(ReceivedLog::body).toList();
  }
}
