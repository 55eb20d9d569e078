package dev.oz.worker.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.oz.worker.testing.Engine;
import dev.oz.worker.testing.OtlpReceiver;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Speed and memory of the worker as operators run it: the fat jar in {@code dev} mode (local control plane
 * and worker in one process), driven through the control plane's HTTP API against the real engine. Prints a
 * table with targets; run with {@code bash .ci/bench} (Maven profile {@code bench}). Informational: a missed
 * target is reported, not failed, since timings depend on the machine.
 */
class WorkerBench {
  private static final String ECHO = "oz-dev/echo-agent:latest";
  private final HttpClient http = HttpClient.newHttpClient();
  private final List<String[]> rows = new ArrayList<>();
  private String base;

  @Test
  void bench() throws Exception {
    Engine.docker();
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    base = "http://127.0.0.1:" + port;
    Path log = Files.createTempFile("bench", ".log");
    Path jar = Path.of(System.getProperty("worker.jar", "target/worker-fat.jar"));
    // metrics and task spans pushed to a loopback collector: start-up and task latency include OpenTelemetry
    OtlpReceiver collector = OtlpReceiver.start();
    long start = System.nanoTime();
    ProcessBuilder worker = new ProcessBuilder("java", "-jar", jar.toString(), "dev", "--port", String.valueOf(port),
        "--metrics-port", "0", "--pull-policy", "never")
        .redirectErrorStream(true).redirectOutput(log.toFile());
    worker.environment().putAll(java.util.Map.of("OTEL_METRICS_EXPORTER", "otlp", "OTEL_TRACES_EXPORTER", "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint(), "OTEL_METRIC_EXPORT_INTERVAL", "1000"));
    Process p = worker.start();
    try (collector) {
      while (!Files.readString(log).contains("Successfully connected to server")) {
        if (!p.isAlive()) {
          throw new AssertionError(Files.readString(log));
        }
        Thread.sleep(20);
      }
      String key = Files.readString(log).lines().filter(l -> l.contains("admin key:")).findFirst().orElseThrow()
          .replaceAll(".*admin key:\\s+(\\S+).*", "$1");
      row("start-up to connected", ms(System.nanoTime() - start), "< 3000 ms", System.nanoTime() - start < 3_000_000_000L);
      row("RSS after start-up", rssMb(p) + " MB", "< 300 MB", rssMb(p) < 300);

      // warm up sidecar volume and JIT
      awaitDone(key, submit(key, echo(0, "")), Duration.ofSeconds(60));

      List<Long> latencies = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        long t0 = System.nanoTime();
        awaitDone(key, submit(key, echo(0, "")), Duration.ofSeconds(60));
        latencies.add(System.nanoTime() - t0);
      }
      Collections.sort(latencies);
      row("trivial task, submit to succeeded (p50)", ms(latencies.get(4)), "< 1500 ms", latencies.get(4) < 1_500_000_000L);
      row("trivial task, submit to succeeded (max of 10)", ms(latencies.get(9)), "< 3000 ms", latencies.get(9) < 3_000_000_000L);

      int n = 40;
      double rawPerSecond = rawDockerThroughput(20);
      long t0 = System.nanoTime();
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        ids.add(submit(key, echo(0, "")));
      }
      for (String id : ids) {
        awaitDone(key, id, Duration.ofSeconds(300));
      }
      double perSecond = n / ((System.nanoTime() - t0) / 1e9);
      row("raw engine: create+start+wait+remove, 20 at once", String.format("%.1f containers/s", rawPerSecond), "(baseline)", true);
      row(n + " tasks at once, throughput", String.format("%.1f tasks/s", perSecond),
          String.format(">= %.1f/s (80%% of raw)", rawPerSecond * 0.8), perSecond >= rawPerSecond * 0.8);
      row("RSS after " + (n + 11) + " tasks", rssMb(p) + " MB", "< 400 MB", rssMb(p) < 400);

      long bytes = 50_000_000;
      double rawMbps = rawDockerLogRate(bytes);
      t0 = System.nanoTime();
      String flood = submit(key, echo(0, "yes 'benchmark line of output, sixty-four bytes long..............' | head -c " + bytes));
      awaitDone(key, flood, Duration.ofSeconds(300));
      double seconds = (System.nanoTime() - t0) / 1e9;
      long streamed = get(key, "/api/v1/tasks/" + flood).getLong("log_bytes");
      double mbps = streamed / 1e6 / seconds;
      row("raw engine: reading a 50 MB container log", String.format("%.1f MB/s", rawMbps), "(baseline)", true);
      row("log streaming, 50 MB task, start to report", String.format("%.1f MB/s (%d MB)", mbps, streamed / 1_000_000),
          String.format(">= %.1f MB/s (50%% of raw)", rawMbps * 0.5), mbps >= rawMbps * 0.5);
      row("RSS after the 50 MB stream", rssMb(p) + " MB", "< 500 MB", rssMb(p) < 500);
    } finally {
      p.destroy();
      p.waitFor();
      Engine.removeContainersOf("dev-worker");
      print();
    }
  }

  /** What the engine itself manages on this machine: full container lifecycles per second, in parallel. */
  private static double rawDockerThroughput(int n) throws Exception {
    var docker = Engine.docker();
    long t0 = System.nanoTime();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Thread t = new Thread(() -> {
        String id = docker.createContainerCmd(Engine.BUSYBOX).withCmd("true").exec().getId();
        docker.startContainerCmd(id).exec();
        docker.waitContainerCmd(id).start().awaitStatusCode();
        docker.removeContainerCmd(id).withForce(true).exec();
      });
      t.start();
      threads.add(t);
    }
    for (Thread t : threads) {
      t.join();
    }
    return n / ((System.nanoTime() - t0) / 1e9);
  }

  /** How fast the engine hands out a finished container's log (the follow stream cannot be faster). */
  private static double rawDockerLogRate(long bytes) throws Exception {
    var docker = Engine.docker();
    String id = docker.createContainerCmd(Engine.BUSYBOX).withCmd("sh", "-c",
        "yes 'benchmark line of output, sixty-four bytes long..............' | head -c " + bytes).exec().getId();
    try {
      docker.startContainerCmd(id).exec();
      docker.waitContainerCmd(id).start().awaitStatusCode();
      long[] read = {0};
      long t0 = System.nanoTime();
      docker.logContainerCmd(id).withStdOut(true).withStdErr(true)
          .exec(new com.github.dockerjava.api.async.ResultCallback.Adapter<com.github.dockerjava.api.model.Frame>() {
            @Override
            public void onNext(com.github.dockerjava.api.model.Frame f) {
              read[0] += f.getPayload().length;
            }
          }).awaitCompletion();
      return read[0] / 1e6 / ((System.nanoTime() - t0) / 1e9);
    } finally {
      docker.removeContainerCmd(id).withForce(true).exec();
    }
  }

  private JsonObject echo(int steps, String script) {
    JsonObject env = new JsonObject().put("ECHO_STEPS", String.valueOf(steps));
    JsonObject task = new JsonObject().put("prompt", "bench").put("image", Engine.AGENT).put("env", env);
    if (script.isEmpty()) {
      task.put("image", ECHO).put("sidecar_image", ECHO);
    } else {
      env.put("TEST_SCRIPT", script);
    }
    return task;
  }

  private String submit(String key, JsonObject body) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/tasks"))
        .header("Authorization", "Bearer " + key).POST(HttpRequest.BodyPublishers.ofString(body.encode())).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(201, r.statusCode(), r.body());
    return new JsonObject(r.body()).getString("task_id");
  }

  private JsonObject get(String key, String path) throws Exception {
    return new JsonObject(http.send(HttpRequest.newBuilder(URI.create(base + path)).header("Authorization", "Bearer " + key)
        .build(), HttpResponse.BodyHandlers.ofString()).body());
  }

  private void awaitDone(String key, String id, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      String state = get(key, "/api/v1/tasks/" + id).getString("state");
      if (state.equals("succeeded")) {
        return;
      }
      if (state.equals("failed") || state.equals("cancelled")) {
        throw new AssertionError("task " + id + " " + state + ": " + get(key, "/api/v1/tasks/" + id));
      }
      Thread.sleep(10);
    }
    throw new AssertionError("task " + id + " not done in " + timeout);
  }

  private static long rssMb(Process p) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + p.pid() + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
      }
    }
    return -1;
  }

  private static String ms(long nanos) {
    return nanos / 1_000_000 + " ms";
  }

  private void row(String what, String measured, String target, boolean met) {
    rows.add(new String[] {what, measured, target, met ? "ok" : "MISSED"});
  }

  private void print() {
    StringBuilder out = new StringBuilder("\n| benchmark | measured | target | |\n| --- | --- | --- | --- |\n");
    for (String[] r : rows) {
      out.append("| ").append(String.join(" | ", r)).append(" |\n");
    }
    System.out.println(out);
  }
}
