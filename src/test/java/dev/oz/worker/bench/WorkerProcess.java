package dev.oz.worker.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The worker as operators run it: the fat jar in its own JVM, default JVM settings; read through /proc. */
final class WorkerProcess implements AutoCloseable {
  private static final long CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux

  final Process process;
  final int metricsPort;
  final Path log;

  private WorkerProcess(Process process, int metricsPort, Path log) {
    this.process = process;
    this.metricsPort = metricsPort;
    this.log = log;
  }

  static WorkerProcess start(Path jar, String wsUrl, String workerId, String apiKey, List<String> jvmArgs)
      throws IOException {
    int metricsPort;
    try (ServerSocket s = new ServerSocket(0)) {
      metricsPort = s.getLocalPort();
    }
    Path log = Files.createTempFile("bench-worker", ".log");
    List<String> cmd = new ArrayList<>(List.of("java"));
    cmd.addAll(jvmArgs);
    cmd.addAll(List.of("-jar", jar.toString(), "--api-key", apiKey, "--worker-id", workerId, "--ws-url", wsUrl,
        "--server-root-url", "http://127.0.0.1:9", "--metrics-port", String.valueOf(metricsPort),
        "-conf", "{\"logs\": {\"stream\": true}}"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    return new WorkerProcess(p, metricsPort, log);
  }

  /** User + system CPU seconds used so far. */
  double cpuSeconds() throws IOException {
    return cpuSecondsOf(process.pid());
  }

  /** The engine daemon's process id, -1 when it is not on this machine (a remote engine). */
  static long engineDaemon() {
    return ProcessHandle.allProcesses().filter(p -> p.info().command().map(c -> c.endsWith("/dockerd")).orElse(false))
        .mapToLong(ProcessHandle::pid).findFirst().orElse(-1);
  }

  /**
   * The whole machine's CPU seconds so far, from /proc/stat: {busy (all but idle and I/O wait), all}, summed over the
   * CPUs; every process's share, the engine's, the container's and the kernel's included.
   */
  static double[] machineCpuSeconds() throws IOException {
    String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+"); // cpu user nice system idle ...
    double busy = 0;
    double all = 0;
    for (int i = 1; i < f.length && i <= 8; i++) { // user nice system idle iowait irq softirq steal
      double seconds = Long.parseLong(f[i]) / (double) CLOCK_TICKS_PER_SECOND;
      all += seconds;
      busy += (i == 4 || i == 5) ? 0 : seconds;
    }
    return new double[] {busy, all};
  }

  /** User + system CPU seconds of process {@code pid} so far; 0 for -1. */
  static double cpuSecondsOf(long pid) throws IOException {
    if (pid < 0) {
      return 0;
    }
    double[] userAndKernel = cpuSecondsIn(Path.of("/proc/" + pid + "/stat"));
    return userAndKernel[0] + userAndKernel[1];
  }

  /** User and kernel CPU seconds from a process's or thread's /proc {@code stat} file. */
  private static double[] cpuSecondsIn(Path statFile) throws IOException {
    String stat = Files.readString(statFile);
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" "); // the name in parentheses may hold spaces
    return new double[] {Long.parseLong(f[11]) / (double) CLOCK_TICKS_PER_SECOND, // utime
        Long.parseLong(f[12]) / (double) CLOCK_TICKS_PER_SECOND}; // stime
  }

  /**
   * CPU seconds so far by kind of thread (JIT, GC, Vert.x event loops, Vert.x workers, the rest), user and kernel
   * apart, from each thread's /proc entry; threads that ended are not counted.
   */
  Map<String, Double> cpuSecondsByThreadKind() throws IOException {
    Map<String, Double> kinds = new TreeMap<>();
    try (var tasks = Files.list(Path.of("/proc/" + process.pid() + "/task"))) {
      for (Path task : (Iterable<Path>) tasks::iterator) {
        try {
          String name = Files.readString(task.resolve("comm")).trim();
          double[] userAndKernel = cpuSecondsIn(task.resolve("stat"));
          String kind = threadKind(name);
          kinds.merge(kind, userAndKernel[0], Double::sum);
          kinds.merge(kind + " (kernel)", userAndKernel[1], Double::sum);
        } catch (NoSuchFileException ended) {
          // the thread ended between listing and reading
        }
      }
    }
    return kinds;
  }

  /** What each kind of thread used since {@code before} (an earlier {@link #cpuSecondsByThreadKind()}), in 1/100 s. */
  Map<String, Double> cpuSecondsByThreadKindSince(Map<String, Double> before) throws IOException {
    Map<String, Double> kinds = cpuSecondsByThreadKind();
    kinds.replaceAll((kind, s) -> Math.round((s - before.getOrDefault(kind, 0.0)) * 100) / 100.0);
    return kinds;
  }

  private static String threadKind(String name) {
    if (name.startsWith("C2 Compiler")) {
      return "jit-c2";
    }
    if (name.startsWith("C1 Compiler")) {
      return "jit-c1";
    }
    if (name.startsWith("GC ") || name.startsWith("G1 ")) {
      return "gc";
    }
    if (name.startsWith("vert.x-eventlo")) {
      return "event-loops";
    }
    if (name.startsWith("vert.x-worker") || name.startsWith("vert.x-intern")) {
      return "vertx-workers";
    }
    return "other";
  }

  long threads() throws IOException {
    return status("Threads:");
  }

  long rssMb() throws IOException {
    return status("VmRSS:") / 1024;
  }

  private long status(String field) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + process.pid() + "/status"))) {
      if (line.startsWith(field)) {
        return Long.parseLong(line.replaceAll("\\D", ""));
      }
    }
    throw new IllegalStateException(field + " not in /proc status");
  }

  void assertAlive() throws IOException {
    if (!process.isAlive()) {
      throw new AssertionError("worker exited:\n" + Files.readString(log));
    }
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
