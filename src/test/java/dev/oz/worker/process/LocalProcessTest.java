package dev.oz.worker.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.backend.StdStream;
import dev.oz.worker.testing.TestVertx;
import dev.oz.worker.testing.Waits;
import io.vertx.core.Future;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Local processes: output kept apart, exact exit statuses, whole-group stops, no thread per process. */
class LocalProcessTest {
  private static final Map<String, String> ENV = Map.of("PATH", "/usr/bin:/bin");

  @TempDir
  Path dir;
  private TestVertx tv;
  private LocalProcesses processes;

  @BeforeEach
  void setUp() throws Exception {
    tv = TestVertx.create();
    processes = tv.vertx().executeBlocking(() -> LocalProcesses.create(tv.vertx(), ENV)).await(20, TimeUnit.SECONDS);
  }

  @AfterEach
  void tearDown() {
    tv.close();
  }

  /** Output of one process, per stream. */
  private static final class Captured implements LocalProcess.OutputHandler {
    final StringBuffer out = new StringBuffer();
    final StringBuffer err = new StringBuffer();

    @Override
    public void output(StdStream stream, byte[] bytes, int length) {
      (stream == StdStream.STDOUT ? out : err).append(new String(bytes, 0, length, StandardCharsets.UTF_8));
    }
  }

  private LocalProcess start(String script, Captured output, boolean stopLeftovers) throws Exception {
    return processes.start(List.of("/bin/sh", "-c", script), ENV, dir, null, stopLeftovers, output)
        .await(20, TimeUnit.SECONDS);
  }

  private int run(String script, Captured output) throws Exception {
    return start(script, output, true).ended().await(20, TimeUnit.SECONDS);
  }

  @Test
  void stdoutAndStderrArriveApartAndTheExitCodeIsExact() throws Exception {
    Captured c = new Captured();
    assertEquals(3, run("echo to-out; echo to-err >&2; exit 3", c));
    assertEquals("to-out\n", c.out.toString());
    assertEquals("to-err\n", c.err.toString());
    assertEquals(0, run("true", new Captured()));
    assertEquals(127, run("exit 127", new Captured()), "NuProcess's 127 quirk is undone");
    assertEquals(139, run("kill -SEGV $$", new Captured()), "a signal death is 128+n, as a shell reports it");
  }

  @Test
  void aWriteToAClosedPipeEndsTheWriterAsInAShell() throws Exception {
    Captured c = new Captured();
    assertEquals(0, run("yes | head -1", c));
    assertEquals("y\n", c.out.toString());
    assertEquals("", c.err.toString(), "yes died of SIGPIPE instead of failing with EPIPE");
  }

  @Test
  void stdinIsGivenAndClosed() throws Exception {
    Captured c = new Captured();
    int status = processes.start(List.of("/bin/sh", "-c", "cat; echo done"), ENV, dir,
            "{\"payload\": 1}".getBytes(StandardCharsets.UTF_8), true, c)
        .compose(LocalProcess::ended).await(20, TimeUnit.SECONDS);
    assertEquals(0, status);
    assertEquals("{\"payload\": 1}done\n", c.out.toString());
  }

  @Test
  void terminateStopsTheWholeGroupAndReportsTheCommandsOwnStatus() throws Exception {
    Path grandchild = dir.resolve("grandchild.pid");
    LocalProcess p = start("sleep 300 & echo $! > " + grandchild + "; sleep 300", new Captured(), true);
    Waits.until(() -> Files.exists(grandchild) && size(grandchild) > 0, Duration.ofSeconds(10), () -> "no grandchild");
    long pid = Long.parseLong(Files.readString(grandchild).trim());
    p.terminate(Duration.ofSeconds(10));
    assertEquals(143, p.ended().await(20, TimeUnit.SECONDS), "the command died of the SIGTERM");
    Waits.until(() -> !alive(pid), Duration.ofSeconds(5), () -> "grandchild " + pid + " survived the stop");
  }

  @Test
  void aCommandIgnoringSigtermIsKilledAfterTheGrace() throws Exception {
    Path ready = dir.resolve("ready");
    LocalProcess p = start("trap '' TERM; touch " + ready + "; while :; do sleep 0.1; done", new Captured(), true);
    Waits.until(() -> Files.exists(ready), Duration.ofSeconds(10), () -> "not started");
    long t0 = System.nanoTime();
    p.terminate(Duration.ofMillis(500));
    assertEquals(137, p.ended().await(20, TimeUnit.SECONDS));
    assertTrue(System.nanoTime() - t0 >= 400_000_000L, "SIGKILL only after the grace period");
  }

  @Test
  void whatTheCommandLeftRunningIsKilledWhenItExits() throws Exception {
    Path grandchild = dir.resolve("bg.pid");
    Captured c = new Captured();
    // the background child keeps stdout open: the exit is still seen, and the child does not outlive the command
    assertEquals(0, run("sleep 300 & echo $! > " + grandchild + "; echo parent done", c));
    long pid = Long.parseLong(Files.readString(grandchild).trim());
    Waits.until(() -> !alive(pid), Duration.ofSeconds(5), () -> "leftover " + pid + " survived its parent");
    assertEquals("parent done\n", c.out.toString());
  }

  @Test
  void leftoversMayStayWhenAskedAndTheExitIsStillSeen() throws Exception {
    Path grandchild = dir.resolve("bg.pid");
    long b0 = System.nanoTime();
    assertEquals(4, start("exit 4", new Captured(), false).ended().await(20, TimeUnit.SECONDS));
    long baseline = System.nanoTime() - b0; // the same exit without a child holding stdout
    long t0 = System.nanoTime();
    LocalProcess p = start("sleep 300 & echo $! > " + grandchild + "; exit 4", new Captured(), false);
    assertEquals(4, p.ended().await(20, TimeUnit.SECONDS));
    long took = System.nanoTime() - t0;
    // the child sleeps 300 s: waiting for it (or for its stdout to close) would take far longer than this
    assertTrue(took < baseline + 5_000_000_000L, "the held-open stdout delayed the end: " + took / 1_000_000
        + " ms against " + baseline / 1_000_000 + " ms without the child");
    long pid = Long.parseLong(Files.readString(grandchild).trim());
    assertTrue(alive(pid), "a fire-and-forget child keeps running");
    new ProcessBuilder("kill", "-9", String.valueOf(pid)).start().waitFor();
  }

  @Test
  void fiftySleepingProcessesCostNoThreadEach() throws Exception {
    start("true", new Captured(), true).ended().await(20, TimeUnit.SECONDS); // NuProcess's reader thread exists now
    int before = threads();
    List<LocalProcess> running = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      running.add(start("sleep 3", new Captured(), true));
    }
    int during = threads();
    for (LocalProcess p : running) {
      assertFalse(p.ended().isComplete(), "still sleeping");
    }
    // the one extra thread allowed: the second process-starter thread
    assertTrue(during - before <= 1, "threads before " + before + ", with 50 processes running " + during);
    Future.all(running.stream().map(LocalProcess::ended).toList()).await(30, TimeUnit.SECONDS);
  }

  /** Live threads, less the JIT compiler's (the JVM adds and removes those as it likes). */
  private static int threads() {
    return (int) Thread.getAllStackTraces().keySet().stream()
        .filter(t -> !t.getName().contains("CompilerThread")).count();
  }

  private static long size(Path p) {
    try {
      return Files.size(p);
    } catch (Exception e) {
      return 0;
    }
  }

  private static boolean alive(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && !isZombie(pid);
  }

  private static boolean isZombie(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
    } catch (Exception e) {
      return true;
    }
  }
}
