package dev.oz.worker.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The copy script of {@code sidecar_copy_readiness}, run for real with sh and tar (its absolute paths moved into a
 * temporary directory): {@code complete} only after both tar ends succeed, a partial copy wiped first, a failure
 * leaves {@code failed} and the termination message and is not retried in the pod, and a restarted helper never
 * copies over files the task may already have changed.
 */
class CopyReadinessScriptTest {
  @TempDir
  Path root;

  private Path source;
  private Path target;
  private Path state;
  private Path bin;

  @BeforeEach
  void setUp() throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/tar")) && Files.isExecutable(Path.of("/bin/sh")), "needs sh and tar");
    source = Files.createDirectories(root.resolve("source"));
    target = Files.createDirectories(root.resolve("target"));
    state = Files.createDirectories(root.resolve("state"));
    bin = Files.createDirectories(root.resolve("bin"));
    Files.writeString(source.resolve("payload"), "complete data\n");
    Files.writeString(target.resolve(".partial"), "left by an attempt that died");
    // a tar that fails on demand: the producer after writing its archive, or the consumer outright
    Path tar = Files.writeString(bin.resolve("tar"), """
        #!/bin/sh
        stage=consumer
        for a do [ "$a" != -cf ] || stage=producer; done
        if [ "$FAIL_STAGE" = "$stage" ]; then
          if [ "$stage" = producer ]; then "$REAL_TAR" "$@"; else cat > /dev/null; fi
          exit 42
        fi
        exec "$REAL_TAR" "$@"
        """);
    Files.setPosixFilePermissions(tar, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private Process start(String failing) throws Exception {
    String script = Scripts.COPY_WITH_READINESS
        .replace("--exclude=." + TaskJobs.COPY_STATE, "--exclude=./state")
        .replace("-C / -cf", "-C '" + source + "' -cf")
        .replace(TaskJobs.COPY_TARGET, target.toString())
        .replace(TaskJobs.COPY_STATE, state.toString())
        .replace("/dev/termination-log", root.resolve("termination-log").toString())
        .replace("while true; do", "touch '" + root.resolve("held") + "'\nwhile true; do");
    ProcessBuilder pb = new ProcessBuilder("sh", "-c", script).redirectErrorStream(true);
    pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
    pb.environment().put("REAL_TAR", "/usr/bin/tar");
    pb.environment().put("FAIL_STAGE", failing);
    return pb.start();
  }

  private void awaitHeld(Process p) throws Exception {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!Files.exists(root.resolve("held")) && System.nanoTime() < end) {
      assertTrue(p.isAlive(), "exited before holding");
      Thread.sleep(20);
    }
    assertTrue(Files.exists(root.resolve("held")), "the helper holds after copying");
  }

  private static void stop(Process p) throws Exception {
    p.toHandle().destroy(); // SIGTERM, as the kubelet ends a native sidecar
    assertTrue(p.waitFor(5, TimeUnit.SECONDS), "stops on SIGTERM");
    assertEquals(0, p.exitValue());
  }

  @Test
  void copiesThenHoldsAndARestartKeepsTheTasksChanges() throws Exception {
    Process p = start("");
    awaitHeld(p);
    assertTrue(Files.exists(state.resolve("complete")));
    assertFalse(Files.exists(target.resolve(".partial")), "a partial copy is wiped first");
    assertEquals("complete data\n", Files.readString(target.resolve("payload")));
    stop(p);
    Files.writeString(target.resolve("payload"), "changed by the task\n");
    Files.delete(root.resolve("held"));
    Process again = start("producer");
    awaitHeld(again);
    stop(again);
    assertEquals("changed by the task\n", Files.readString(target.resolve("payload")), "no second copy");
  }

  @Test
  void aFailedProducerIsNeverMarkedCompleteNorRetried() throws Exception {
    failsForGood("producer");
  }

  @Test
  void aFailedConsumerIsNeverMarkedCompleteNorRetried() throws Exception {
    failsForGood("consumer");
  }

  private void failsForGood(String failing) throws Exception {
    Process p = start(failing);
    assertTrue(p.waitFor(10, TimeUnit.SECONDS));
    assertNotEquals(0, p.exitValue(), "a failed " + failing + " fails the helper, even when the other end succeeded");
    assertFalse(Files.exists(state.resolve("complete")));
    assertTrue(Files.exists(state.resolve("failed")));
    assertEquals(TaskJobs.COPY_FAILED_MESSAGE, Files.readString(root.resolve("termination-log")).strip());
    Process retry = start("");
    assertTrue(retry.waitFor(10, TimeUnit.SECONDS));
    assertNotEquals(0, retry.exitValue(), "a restarted helper does not retry in this pod");
    assertFalse(Files.exists(state.resolve("complete")));
  }
}
