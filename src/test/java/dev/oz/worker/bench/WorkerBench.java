package dev.oz.worker.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import dev.oz.worker.testing.Assignments;
import dev.oz.worker.testing.Engine;
import dev.oz.worker.testing.OtlpReceiver;
import io.vertx.core.json.JsonObject;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The worker side by side with the raw engine API, on this machine, in one run (issue 11, "The benchmark").
 * The worker is the fat jar in its own JVM with default settings and the default pull policy, connected to a
 * control plane in this JVM; the baseline ({@link RawEngine}) runs the very container the worker created (read
 * back with inspect), alternating with the worker so both see the same machine load. Prints worker, baseline
 * and ratio per figure, plus where a trivial task's time goes. Informational: nothing here fails on a missed
 * target (timings depend on the machine); run with {@code bash .ci/bench} (Maven profile {@code bench}).
 *
 * <p>System properties: {@code bench.workerJar} (another build of the worker), {@code bench.jvmArgs} (extra worker JVM options, space separated),
 * {@code bench.trivialPairs} (20), {@code bench.floodPairs} (3), {@code bench.burstRounds} (2),
 * {@code bench.longTasks} (100), {@code bench.only} (comma list of scenarios: startup, trivial, burst, flood, long).
 */
class WorkerBench {
  private static final String ECHO = "oz-dev/echo-agent:latest";
  private static final long FLOOD_BYTES = 50_000_000;
  private static final String FLOOD_SCRIPT =
      "yes 'benchmark line of output, sixty-four bytes long..............' | head -c " + FLOOD_BYTES;
  /** Runs until cancelled, then exits at once (sh as PID 1 only gets SIGTERM with a trap). */
  private static final String LONG_SCRIPT = "trap 'exit 0' TERM; sleep 600 & wait";
  private static final Duration TASK_TIMEOUT = Duration.ofSeconds(180);

  private final int trivialPairs = Integer.getInteger("bench.trivialPairs", 20);
  private final int floodPairs = Integer.getInteger("bench.floodPairs", 3);
  private final int burstRounds = Integer.getInteger("bench.burstRounds", 2);
  private final int longTasks = Integer.getInteger("bench.longTasks", 100);
  private final List<String> only = Arrays.asList(System.getProperty("bench.only", "").split(","));
  private final List<String[]> rows = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private int taskCounter;
  private BenchControlPlane cp;
  private EngineEvents events;
  private RawEngine raw;
  private WorkerProcess worker;

  @Test
  void bench() throws Exception {
    Assumptions.assumeTrue(System.getProperty("bench.compareJar", "").isBlank(), "comparing builds instead");
    DockerClient docker = Engine.docker();
    String workerId = "bench-" + UUID.randomUUID().toString().substring(0, 8);
    String apiKey = "bench-key-" + UUID.randomUUID();
    Path jar = Path.of(System.getProperty("bench.workerJar", System.getProperty("worker.jar", "target/worker-fat.jar")));
    List<String> jvmArgs = System.getProperty("bench.jvmArgs", "").isBlank() ? List.of()
        : List.of(System.getProperty("bench.jvmArgs").trim().split("\\s+"));
    String loadBefore = Files.readString(Path.of("/proc/loadavg")).trim();
    long began = System.nanoTime();
    raw = new RawEngine(docker, workerId);
    try {
      cp = BenchControlPlane.start();
      events = new EngineEvents(docker, workerId);
      startUp(jar, workerId, apiKey, jvmArgs, wanted("startup") ? 3 : 1);
      warmUp();
      if (wanted("trivial")) {
        trivialTasks();
      }
      if (wanted("burst")) {
        burst(40);
      }
      if (wanted("long")) {
        longTasks(); // before the floods, which grow the heap
      }
      if (wanted("flood")) {
        floods();
      }
    } finally {
      if (worker != null) {
        worker.close();
      }
      if (events != null) {
        events.close();
      }
      if (cp != null) {
        cp.close();
      }
      Engine.removeContainersOf(workerId);
      raw.removeAll();
      print(loadBefore, Files.readString(Path.of("/proc/loadavg")).trim(), (System.nanoTime() - began) / 1_000_000_000);
    }
  }

  private boolean wanted(String scenario) {
    return only.equals(List.of("")) || only.contains(scenario);
  }

  // ---- scenarios ----

  /**
   * Worker CPU per 50 MB streamed, this build against another ({@code -Dbench.compareJar=...}), each with default
   * JVM settings and, when {@code bench.jvmArgs} is set, with those JVM options too (e.g. the image's
   * {@code -XX:TieredStopAtLevel=1}; {@code bench.compareOnlyWithJvmArgs} leaves out the default settings). Each in
   * rounds of: fresh worker, {@code bench.compareFloods} (3) floods, the first of them the fresh JVM's (its JIT
   * warm-up included) and reported apart; the builds take turns, so all see the same load on a shared machine.
   */
  @Test
  void floodCpuAgainstAnotherBuild() throws Exception {
    String other = System.getProperty("bench.compareJar", "");
    Assumptions.assumeTrue(!other.isBlank(), "set bench.compareJar to compare two builds");
    DockerClient docker = Engine.docker();
    String workerId = "bench-" + UUID.randomUUID().toString().substring(0, 8);
    Path thisJar = Path.of(System.getProperty("bench.workerJar", System.getProperty("worker.jar", "target/worker-fat.jar")));
    String thisArgs = System.getProperty("bench.jvmArgs", "").trim();
    Map<String, List<String>> builds = new LinkedHashMap<>();
    for (String jar : List.of(other, thisJar.toString())) {
      if (!Boolean.getBoolean("bench.compareOnlyWithJvmArgs") || thisArgs.isEmpty()) {
        builds.put(jar, List.of());
      }
      if (!thisArgs.isEmpty()) {
        builds.put(jar + " " + thisArgs, List.of(thisArgs.split("\\s+")));
      }
    }
    Map<String, List<Double>> first = new LinkedHashMap<>();
    Map<String, List<Double>> later = new LinkedHashMap<>();
    String loadBefore = Files.readString(Path.of("/proc/loadavg")).trim();
    long began = System.nanoTime();
    raw = new RawEngine(docker, workerId);
    try {
      cp = BenchControlPlane.start();
      events = new EngineEvents(docker, workerId);
      for (int round = 0; round < Integer.getInteger("bench.compareRounds", 2); round++) {
        for (Map.Entry<String, List<String>> build : builds.entrySet()) {
          startUp(Path.of(build.getKey().split(" ")[0]), workerId, "bench-key-" + UUID.randomUUID(), build.getValue(), 1);
          for (int i = 0; i < Integer.getInteger("bench.compareFloods", 3); i++) {
            String id = nextId();
            double cpu0 = worker.cpuSeconds();
            Map<String, Double> kinds0 = worker.cpuSecondsByThreadKind();
            runWorkerTask(scriptTask(id, FLOOD_SCRIPT));
            double perFlood = (worker.cpuSeconds() - cpu0) * 50_000_000 / Math.max(1, cp.task(id).logBytes);
            Map<String, Double> kinds = worker.cpuSecondsByThreadKindSince(kinds0);
            (i == 0 ? first : later).computeIfAbsent(build.getKey(), k -> new ArrayList<>()).add(perFlood);
            System.out.printf("round %d, %s, flood %d: %.2f CPU-s per 50 MB %s (load %s)%n", round, build.getKey(), i,
                perFlood, kinds, Files.readString(Path.of("/proc/loadavg")).trim().split(" ")[0]);
          }
          worker.close();
          worker = null;
        }
      }
      for (String build : builds.keySet()) {
        row("worker CPU per 50 MB streamed, fresh worker's first flood, " + build, range(first.get(build), "CPU-s"),
            "–", "", "", true);
        if (later.containsKey(build)) {
          row("worker CPU per 50 MB streamed, later floods, " + build, range(later.get(build), "CPU-s"), "–", "", "",
              true);
        }
      }
    } finally {
      if (worker != null) {
        worker.close();
      }
      if (events != null) {
        events.close();
      }
      if (cp != null) {
        cp.close();
      }
      Engine.removeContainersOf(workerId);
      print(loadBefore, Files.readString(Path.of("/proc/loadavg")).trim(), (System.nanoTime() - began) / 1_000_000_000);
    }
  }

  /** Process start to the control plane accepting the WebSocket, {@code runs} times; the last worker stays. */
  private void startUp(Path jar, String workerId, String apiKey, List<String> jvmArgs, int runs) throws Exception {
    List<Double> startupMs = new ArrayList<>();
    for (int i = 0; i < runs; i++) {
      if (worker != null) {
        worker.close();
      }
      int before = cp.connections().size();
      long t0 = Bench.now();
      worker = WorkerProcess.start(jar, cp.wsUrl(), workerId, apiKey, jvmArgs);
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (cp.connections().size() <= before) {
        worker.assertAlive();
        if (System.nanoTime() > deadline) {
          throw new AssertionError("worker did not connect:\n" + Files.readString(worker.log));
        }
        Bench.sleep(5);
      }
      startupMs.add(Bench.ms(cp.connections().get(before) - t0));
    }
    if (runs > 1) {
      row("start-up to connected (median of " + runs + ")", fmt(Bench.median(startupMs), "ms"), "–", "", "≤ 1500 ms",
          Bench.median(startupMs) <= 1500);
    }
  }

  /** JIT, the sidecar volume, the first pull attempts; then the idle figures. */
  private void warmUp() throws Exception {
    for (int i = 0; i < 3; i++) {
      runWorkerTask(trivialTask(nextId()));
    }
    row("idle worker: threads / RSS", worker.threads() + " / " + worker.rssMb() + " MB", "–", "", "", true);
  }

  private void trivialTasks() throws Exception {
    List<Long> total = new ArrayList<>();
    List<Long> claim = new ArrayList<>();
    List<Long> toCreate = new ArrayList<>();
    List<Long> toStart = new ArrayList<>();
    List<Long> exitToReport = new ArrayList<>();
    List<Long> rawTotal = new ArrayList<>();
    List<Long> rawWithoutPulls = new ArrayList<>();
    List<Long> rawToCreate = new ArrayList<>();
    List<Long> rawToStart = new ArrayList<>();
    List<Long> rawExitToWait = new ArrayList<>();
    List<Long> rawExitToOutputEnd = new ArrayList<>();
    for (int i = 0; i < trivialPairs; i++) {
      String id = nextId();
      long sent = runWorkerTask(trivialTask(id));
      BenchControlPlane.TaskRecord r = cp.task(id);
      EngineEvents.ContainerTimes t = events.ofTask(id);
      total.add(r.terminalAt - sent);
      claim.add(r.claimedAt - sent);
      toCreate.add(t.created - r.claimedAt);
      toStart.add(t.started - t.created);
      exitToReport.add(r.terminalAt - t.died);

      RawEngine.Run b = raw.run(t.config, List.of(ECHO, ECHO));
      EngineEvents.ContainerTimes bt = events.ofContainer(b.containerId());
      raw.remove(b.containerId());
      rawTotal.add(b.end() - b.began());
      rawWithoutPulls.add(b.end() - b.pulled());
      rawToCreate.add(bt.created - b.began());
      rawToStart.add(bt.started - bt.created);
      rawExitToWait.add(b.waitReturned() - bt.died);
      rawExitToOutputEnd.add(b.outputEnded() - bt.died);
    }
    ratioRow("trivial task, assignment sent → terminal report, p50", total, rawTotal, 0.5, "ratio ≤ 1.05", 1.05);
    ratioRow("trivial task, assignment sent → terminal report, p95", total, rawTotal, 0.95, "", Double.NaN);
    ratioRow("  the same, p50, baseline without its two pull attempts", total, rawWithoutPulls, 0.5, "", Double.NaN);
    row("  breakdown: assignment sent → task_claimed (p50)", fmt(p50ms(claim), "ms"), "–", "", "", true);
    row("  breakdown: claimed → container created (pulls, sidecar, create) (p50)", fmt(p50ms(toCreate), "ms"),
        fmt(p50ms(rawToCreate), "ms") + " (pulls, create)", "", "", true);
    row("  breakdown: created → started (p50)", fmt(p50ms(toStart), "ms"), fmt(p50ms(rawToStart), "ms"), "", "", true);
    row("container exit → terminal report, p50 / p95",
        fmt(p50ms(exitToReport), "") + " / " + fmt(Bench.percentile(exitToReport, 0.95) / 1e6, "ms"),
        "wait returns " + fmt(p50ms(rawExitToWait), "") + " / " + fmt(Bench.percentile(rawExitToWait, 0.95) / 1e6, "ms")
            + ", follow ends " + fmt(p50ms(rawExitToOutputEnd), "") + " / "
            + fmt(Bench.percentile(rawExitToOutputEnd, 0.95) / 1e6, "ms"),
        "", "p95 ≤ 20 ms", Bench.percentile(exitToReport, 0.95) / 1e6 <= 20);
  }

  /** {@code n} trivial tasks assigned at once vs {@code n} raw lifecycles on {@code n} threads, alternating. */
  private void burst(int n) throws Exception {
    List<Double> workerRate = new ArrayList<>();
    List<Double> rawRate = new ArrayList<>();
    for (int round = 0; round < burstRounds; round++) {
      List<String> ids = new ArrayList<>();
      long t0 = Bench.now();
      for (int i = 0; i < n; i++) {
        String id = nextId();
        ids.add(id);
        cp.send(envelope("task_assignment", trivialTask(id)));
      }
      long end = 0;
      for (String id : ids) {
        end = Math.max(end, awaitTerminal(id, "task_completed"));
      }
      workerRate.add(n / ((end - t0) / 1e9));
      InspectContainerResponse config = events.configOfAny(ids);

      long b0 = Bench.now();
      List<RawEngine.Run> runs = raw.runConcurrently(n, config, List.of(ECHO, ECHO));
      long bEnd = runs.stream().mapToLong(RawEngine.Run::end).max().orElseThrow();
      assertEquals(n, runs.size(), "every baseline lifecycle finished");
      rawRate.add(n / ((bEnd - b0) / 1e9));
      runs.forEach(r -> raw.remove(r.containerId()));
    }
    double w = Bench.median(workerRate);
    double b = Bench.median(rawRate);
    row(n + " tasks at once, default pull policy (median of " + burstRounds + ")", fmt(w, "tasks/s"), fmt(b, "/s"),
        ratio(w / b), "ratio ≥ 0.90", w / b >= 0.90);
  }

  /** 50 MB floods: worker and a raw live follow of the same container, alternating; CPU and memory. */
  private void floods() throws Exception {
    List<Double> ratios = new ArrayList<>();
    List<Double> workerMbps = new ArrayList<>();
    List<Double> rawMbps = new ArrayList<>();
    List<Double> cpu = new ArrayList<>();
    List<Double> machineCpu = new ArrayList<>();
    List<Double> rawMachineCpu = new ArrayList<>();
    List<Double> machineBusy = new ArrayList<>();
    List<Double> rawMachineBusy = new ArrayList<>();
    List<Double> opsMs = new ArrayList<>();
    List<Double> probeMs = new ArrayList<>();
    List<Double> ownProcessMs = new ArrayList<>();
    List<Double> referenceMs = new ArrayList<>();
    List<Long> pongMicros = new ArrayList<>();
    long rssAfterTwo = -1;
    for (int pair = 0; pair < floodPairs; pair++) {
      String id = nextId();
      double cpu0 = worker.cpuSeconds();
      Map<String, Double> kinds0 = worker.cpuSecondsByThreadKind();
      double engine0 = WorkerProcess.cpuSecondsOf(WorkerProcess.engineDaemon());
      double bench0 = WorkerProcess.cpuSecondsOf(ProcessHandle.current().pid());
      long benchGc0 = benchGcMillis();
      double[] machine0 = WorkerProcess.machineCpuSeconds();
      Probing probing = Probing.start(this);
      runWorkerTask(scriptTask(id, FLOOD_SCRIPT));
      double[] machine1 = WorkerProcess.machineCpuSeconds();
      probing.stop();
      pongMicros.addAll(probing.pongMicros);
      opsMs.addAll(probing.clientMs);
      probeMs.addAll(probing.probeMs);
      ownProcessMs.addAll(probing.ownProcessMs);
      referenceMs.addAll(probing.referenceMs);
      long benchGcMs = benchGcMillis() - benchGc0;
      double cpuUsed = worker.cpuSeconds() - cpu0;
      Map<String, Double> kinds = worker.cpuSecondsByThreadKindSince(kinds0);
      double engineUsed = WorkerProcess.cpuSecondsOf(WorkerProcess.engineDaemon()) - engine0;
      double benchUsed = WorkerProcess.cpuSecondsOf(ProcessHandle.current().pid()) - bench0;
      BenchControlPlane.TaskRecord r = cp.task(id);
      EngineEvents.ContainerTimes t = events.ofTask(id);
      cpu.add(cpuUsed * 50_000_000 / Math.max(1, r.logBytes));
      machineCpu.add((machine1[0] - machine0[0]) * 50_000_000 / Math.max(1, r.logBytes));
      machineBusy.add((machine1[0] - machine0[0]) / (machine1[1] - machine0[1]));
      double w = r.logBytes / 1e6 / ((r.lastLogAt - t.started) / 1e9);
      if (pair == 1) {
        rssAfterTwo = worker.rssMb();
      }

      double rawEngine0 = WorkerProcess.cpuSecondsOf(WorkerProcess.engineDaemon());
      double rawBench0 = WorkerProcess.cpuSecondsOf(ProcessHandle.current().pid());
      // the same probes and pings during the baseline's flood (their answers unused): the same load on both sides
      Probing alongsideRaw = Probing.start(this);
      double[] rawMachine0 = WorkerProcess.machineCpuSeconds();
      RawEngine.Run b = raw.run(t.config, List.of(Engine.AGENT));
      double[] rawMachine1 = WorkerProcess.machineCpuSeconds();
      alongsideRaw.stop();
      rawMachineCpu.add((rawMachine1[0] - rawMachine0[0]) * 50_000_000 / Math.max(1, b.outputBytes()));
      rawMachineBusy.add((rawMachine1[0] - rawMachine0[0]) / (rawMachine1[1] - rawMachine0[1]));
      double rawEngineUsed = WorkerProcess.cpuSecondsOf(WorkerProcess.engineDaemon()) - rawEngine0;
      double rawBenchUsed = WorkerProcess.cpuSecondsOf(ProcessHandle.current().pid()) - rawBench0;
      EngineEvents.ContainerTimes bt = events.ofContainer(b.containerId());
      raw.remove(b.containerId());
      double bMbps = b.outputBytes() / 1e6 / ((b.lastOutputAt() - bt.started) / 1e9);
      workerMbps.add(w);
      rawMbps.add(bMbps);
      System.out.printf("flood pair %d (load %s): worker first byte %.0f ms, arrivals %s, exit %.0f ms, last %.0f ms;"
              + " raw arrivals %s, exit %.0f ms, last %.0f ms (all after start)%n", pair,
          Files.readString(Path.of("/proc/loadavg")).trim().split(" ")[0], Bench.ms(r.firstLogAt - t.started),
          curve(r.marks, t.started), Bench.ms(t.died - t.started), Bench.ms(r.lastLogAt - t.started),
          curve(b.marks(), bt.started), Bench.ms(bt.died - bt.started), Bench.ms(b.lastOutputAt() - bt.started));
      System.out.printf("flood pair %d CPU-s: worker %.1f %s, dockerd %.1f, bench JVM %.1f (its collections %d ms);"
          + " raw: dockerd %.1f, bench JVM %.1f%n", pair, cpuUsed, kinds, engineUsed, benchUsed, benchGcMs,
          rawEngineUsed, rawBenchUsed);
      ratios.add(w / bMbps);
    }
    row("50 MB of output, MB/s arriving at the control plane (median ratio of " + floodPairs + " pairs)",
        range(workerMbps, "MB/s"), range(rawMbps, "MB/s") + " live follow", ratio(Bench.median(ratios)),
        "ratio ≥ 0.95", Bench.median(ratios) >= 0.95);
    // how busy the flood keeps the machine: near 100 % on both sides, the rate is set by who gets the CPUs
    row("machine CPU per 50 MB streamed, every process (busy share of the " + Runtime.getRuntime().availableProcessors()
            + " CPUs)",
        range(machineCpu, "CPU-s") + " (" + percents(machineBusy) + ")",
        range(rawMachineCpu, "CPU-s") + " (" + percents(rawMachineBusy) + ")", "", "", true);
    // the target is half the CPU of the build, which only a side-by-side run can say (the issue's own
    // figures came from another machine and load): floodCpuAgainstAnotherBuild with that build's jar
    row("worker CPU per 50 MB streamed (against the issue's build: floodCpuAgainstAnotherBuild)",
        range(cpu, "CPU-s"), "–", "", "", true);
    if (rssAfterTwo >= 0) {
      row("RSS after two 50 MB floods (no forced GC)", rssAfterTwo + " MB", "–", "", "≤ 300 MB", rssAfterTwo <= 300);
    }
    if (!ownProcessMs.isEmpty()) {
      double p95 = Bench.percentile(ownProcessMs, 0.95);
      double referenceP95 = Bench.percentile(referenceMs, 0.95);
      row("during floods: /healthz answer, p50 / p95, a probe in a process of its own (as the kubelet asks); "
              + "baseline: the least an HTTP answer costs (bench/reference-responder.py), asked by turns",
          fmt(Bench.percentile(ownProcessMs, 0.5), "") + " / " + fmt(p95, "ms"),
          fmt(Bench.percentile(referenceMs, 0.5), "") + " / " + fmt(referenceP95, "ms"), ratio(p95 / referenceP95),
          "p95 ≤ 20 ms", p95 <= 20);
    }
    if (!opsMs.isEmpty()) {
      double p95 = Bench.percentile(opsMs, 0.95);
      double probeP95 = Bench.percentile(probeMs, 0.95);
      row("during floods: /healthz answer, p50 / p95, from this JVM as a probe asks (new connection, blocking socket)",
          fmt(Bench.percentile(probeMs, 0.5), "") + " / " + fmt(probeP95, "ms"), "–", "", "", true);
      row("during floods: /healthz answer, p50 / p95, from this JVM through the JDK HttpClient (kept alive)",
          fmt(Bench.percentile(opsMs, 0.5), "") + " / " + fmt(p95, "ms"), "–", "", "", true);
    }
    if (!pongMicros.isEmpty()) {
      double p95 = Bench.percentile(pongMicros, 0.95) / 1000;
      row("during floods: WebSocket ping → pong, p95", fmt(p95, "ms"), "–", "", "≤ 20 ms", p95 <= 20);
    }
  }

  /**
   * {@code bench/healthz-probe.py} asking the worker's {@code /healthz} every 100 ms from a process of its own (the
   * probes of this JVM share its pauses, and this JVM receives the flood being measured), and by turns the
   * {@code reference} responder: what the machine's load alone costs a probe at the same moments.
   */
  private Process startProbe(Reference reference) throws Exception {
    return new ProcessBuilder("python3", "bench/healthz-probe.py", String.valueOf(worker.metricsPort), "100",
        String.valueOf(reference.port()))
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
  }

  /**
   * What asks the worker during a flood, every 100 ms: the probe in a process of its own (by turns with the
   * reference responder), this JVM's two probes, the control plane's pings. Run during the baseline's floods too.
   */
  private static final class Probing {
    final List<Double> clientMs = new CopyOnWriteArrayList<>();
    final List<Double> probeMs = new CopyOnWriteArrayList<>();
    final List<Long> pongMicros = new ArrayList<>();
    final List<Double> ownProcessMs = new ArrayList<>();
    final List<Double> referenceMs = new ArrayList<>();
    private final WorkerBench bench;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private Reference reference;
    private Process probe;
    private Thread polling;

    private Probing(WorkerBench bench) {
      this.bench = bench;
    }

    static Probing start(WorkerBench bench) throws Exception {
      Probing p = new Probing(bench);
      p.reference = Reference.start();
      p.probe = bench.startProbe(p.reference);
      p.polling = new Thread(() -> bench.pollOps(p.running, p.clientMs, p.probeMs));
      p.polling.start();
      bench.cp.startPinging(100);
      return p;
    }

    void stop() throws Exception {
      pongMicros.addAll(bench.cp.stopPinging());
      running.set(false);
      polling.join();
      Map<Integer, List<Double>> answers = stopProbe(probe);
      ownProcessMs.addAll(answers.getOrDefault(bench.worker.metricsPort, List.of()));
      referenceMs.addAll(answers.getOrDefault(reference.port(), List.of()));
      reference.close();
    }
  }

  /** {@code bench/reference-responder.py}: the least an HTTP health answer costs, in a process of its own. */
  private record Reference(Process process, int port) implements AutoCloseable {
    static Reference start() throws Exception {
      Process p = new ProcessBuilder("python3", "bench/reference-responder.py")
          .redirectError(ProcessBuilder.Redirect.INHERIT)
          .start();
      StringBuilder firstLine = new StringBuilder(); // the port it listens on
      for (int c = p.getInputStream().read(); c >= 0 && c != '\n'; c = p.getInputStream().read()) {
        firstLine.append((char) c);
      }
      return new Reference(p, Integer.parseInt(firstLine.toString().trim()));
    }

    @Override
    public void close() throws Exception {
      process.getOutputStream().close();
      process.waitFor();
    }
  }

  /**
   * Stops the probe (closing its stdin) and returns its answers' milliseconds by port; a failed probe counts as
   * infinite.
   */
  private static Map<Integer, List<Double>> stopProbe(Process probe) throws Exception {
    probe.getOutputStream().close();
    Map<Integer, List<Double>> ms = new HashMap<>();
    for (String line : new String(probe.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).split("\n")) {
      String[] portAndMs = line.trim().split(" ");
      if (portAndMs.length == 2) {
        ms.computeIfAbsent(Integer.parseInt(portAndMs[0]), p -> new ArrayList<>())
            .add(portAndMs[1].equals("inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(portAndMs[1]));
      }
    }
    probe.waitFor();
    return ms;
  }

  /** Milliseconds this JVM spent collecting garbage so far, all collectors. */
  private static long benchGcMillis() {
    return java.lang.management.ManagementFactory.getGarbageCollectorMXBeans().stream()
        .mapToLong(java.lang.management.GarbageCollectorMXBean::getCollectionTime).sum();
  }

  /** Milliseconds after {@code start} at which each 5 MB mark arrived. */
  private static String curve(long[] marks, long start) {
    StringBuilder out = new StringBuilder();
    for (long m : marks) {
      out.append(out.length() == 0 ? "" : " ").append(m == 0 ? "-" : String.format("%.0f", Bench.ms(m - start)));
    }
    return out.toString();
  }

  /**
   * Asks {@code /healthz} every 100 ms, by turns: through the JDK's HttpClient on a kept-alive connection (several
   * threads of this JVM hand each answer on), and as a liveness probe does (kubelet: a new connection per probe, no
   * keep-alive), on a blocking socket read by the asking thread alone.
   */
  private void pollOps(AtomicBoolean running, List<Double> clientMs, List<Double> probeMs) {
    HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + worker.metricsPort + "/healthz")).build();
    byte[] probe = ("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:" + worker.metricsPort + "\r\nConnection: close\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII);
    boolean viaClient = true;
    while (running.get()) {
      long t0 = System.nanoTime();
      try {
        if (viaClient) {
          http.send(req, HttpResponse.BodyHandlers.discarding());
        } else {
          try (Socket socket = new Socket("127.0.0.1", worker.metricsPort)) {
            socket.getOutputStream().write(probe);
            InputStream in = socket.getInputStream();
            while (in.read(new byte[512]) >= 0) {
              // until the server closes: the whole answer
            }
          }
        }
        (viaClient ? clientMs : probeMs).add((System.nanoTime() - t0) / 1e6);
      } catch (Exception e) {
        (viaClient ? clientMs : probeMs).add(Double.POSITIVE_INFINITY);
      }
      viaClient = !viaClient;
      Bench.sleep(50);
    }
  }

  /** Threads and RSS with {@code longTasks} containers running, then all cancelled. */
  private void longTasks() throws Exception {
    long idleThreads = worker.threads();
    long startsBefore = events.workerStarts();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < longTasks; i++) {
      String id = nextId();
      ids.add(id);
      cp.send(envelope("task_assignment", scriptTask(id, LONG_SCRIPT)));
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(300).toNanos();
    while (events.workerStarts() - startsBefore < longTasks) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("only " + (events.workerStarts() - startsBefore) + " long tasks started");
      }
      Bench.sleep(100);
    }
    long threads = 0;
    long rss = 0;
    for (int i = 0; i < 6; i++) {
      threads = Math.max(threads, worker.threads());
      rss = Math.max(rss, worker.rssMb());
      Bench.sleep(500);
    }
    for (String id : ids) {
      cp.send(envelope("task_cancellation", new JsonObject().put("task_id", id)));
    }
    for (String id : ids) {
      awaitTerminal(id, null);
    }
    row(longTasks + " long tasks: threads while running", threads + " (idle " + idleThreads + ")", "–", "",
        "≤ idle + 10", threads <= idleThreads + 10);
    row(longTasks + " long tasks: RSS while running", rss + " MB", "–", "", "≤ 256 MB", rss <= 256);
  }

  // ---- tasks ----

  private String nextId() {
    return "bench-task-" + (++taskCounter);
  }

  /** The sample agent as sidecar and image (as in {@code dev}), finishing at once. */
  private static JsonObject trivialTask(String id) {
    return Assignments.data(id).put("docker_image", ECHO).put("sidecar_image", ECHO)
        .put("env_vars", new JsonObject().put("ECHO_STEPS", "0"));
  }

  private static JsonObject scriptTask(String id, String script) {
    return Assignments.data(id).put("docker_image", Engine.AGENT)
        .put("env_vars", new JsonObject().put("TEST_SCRIPT", script));
  }

  private static JsonObject envelope(String type, JsonObject data) {
    return Assignments.envelope(type, data);
  }

  /** Assigns, waits for success; returns when the assignment was sent (epoch nanos). */
  private long runWorkerTask(JsonObject task) throws Exception {
    long sent = Bench.now();
    cp.send(envelope("task_assignment", task));
    awaitTerminal(task.getString("task_id"), "task_completed");
    return sent;
  }

  /** Epoch nanos of the terminal report; {@code expectedType} null accepts any. */
  private long awaitTerminal(String id, String expectedType) throws Exception {
    BenchControlPlane.TaskRecord r = cp.task(id);
    long deadline = System.nanoTime() + TASK_TIMEOUT.toNanos();
    while (r.terminalAt == 0) {
      worker.assertAlive();
      if (System.nanoTime() > deadline) {
        throw new AssertionError("task " + id + " not done in " + TASK_TIMEOUT);
      }
      Bench.sleep(2);
    }
    if (expectedType != null && !expectedType.equals(r.terminalType)) {
      throw new AssertionError("task " + id + ": " + r.terminalType + "\n" + Files.readString(worker.log));
    }
    return r.terminalAt;
  }

  // ---- output ----

  private void ratioRow(String figure, List<Long> worker, List<Long> raw, double p, String target, double maxRatio) {
    double w = Bench.percentile(worker, p) / 1e6;
    double b = Bench.percentile(raw, p) / 1e6;
    row(figure, fmt(w, "ms"), fmt(b, "ms"), ratio(w / b), target, Double.isNaN(maxRatio) || w / b <= maxRatio);
  }

  private static double p50ms(List<Long> nanos) {
    return Bench.median(nanos) / 1e6;
  }

  private static String fmt(double v, String unit) {
    String n = v >= 100 ? String.format("%.0f", v) : String.format("%.1f", v);
    return unit.isEmpty() ? n : n + " " + unit;
  }

  private static String percents(List<Double> fractions) {
    return String.join(", ", fractions.stream().map(f -> String.format("%.0f %%", f * 100)).toList());
  }

  private static String ratio(double r) {
    return String.format("%.2f", r);
  }

  private static String range(List<Double> values, String unit) {
    ToDoubleFunction<Double> id = Double::doubleValue;
    double min = values.stream().mapToDouble(id).min().orElse(0);
    double max = values.stream().mapToDouble(id).max().orElse(0);
    return String.format("%.1f–%.1f %s (median %.1f)", min, max, unit, Bench.median(values));
  }

  private void row(String figure, String worker, String baseline, String ratio, String target, boolean met) {
    rows.add(new String[] {figure, worker, baseline, ratio, target, target.isEmpty() ? "" : met ? "met" : "MISSED"});
  }

  private void print(String loadBefore, String loadAfter, long seconds) throws Exception {
    StringBuilder out = new StringBuilder("\n| figure | worker | raw engine API | ratio | target | |\n"
        + "| --- | --- | --- | --- | --- | --- |\n");
    for (String[] r : rows) {
      out.append("| ").append(String.join(" | ", r)).append(" |\n");
    }
    String mem = Files.readAllLines(Path.of("/proc/meminfo")).get(0).replaceAll("\\s+", " ");
    out.append("\nmachine: ").append(Runtime.getRuntime().availableProcessors()).append(" CPUs, ").append(mem)
        .append(", kernel ").append(System.getProperty("os.version")).append(", JDK ")
        .append(System.getProperty("java.vm.version")).append(", Docker ")
        .append(Engine.docker().versionCmd().exec().getVersion()).append("; load average before ").append(loadBefore)
        .append(", after ").append(loadAfter).append("; ").append(seconds).append(" s\n");
    System.out.println(out);
  }
}
