package dev.oz.worker.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.sun.management.OperatingSystemMXBean;
import dev.oz.worker.bus.Addresses;
import dev.oz.worker.bus.WorkerBus;
import dev.oz.worker.config.LogStreamOptions;
import dev.oz.worker.logs.LogStreamingVerticle;
import dev.oz.worker.logs.OpenTaskLog;
import dev.oz.worker.backend.StdStream;
import dev.oz.worker.backend.TaskOutput;
import dev.oz.worker.metrics.WorkerMetrics;
import dev.oz.worker.protocol.TaskLogFrame;
import dev.oz.worker.bus.ShutdownCoordinator;
import io.vertx.core.Vertx;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The worker's log path in one JVM, without Docker or a socket: 1 KiB writes (what docker-java delivers) into a
 * task's output with typical secrets, chunked by the log-streaming verticle, encoded as the connection encodes
 * them and turned into the UTF-8 bytes a text frame carries. Prints CPU seconds (whole process) per 50 MB, a
 * figure far steadier on a shared machine than the end-to-end one. Run with the {@code bench} profile.
 */
class LogPathBench {
  private static final int FRAME = 1024;
  private static final long BYTES = 50_000_000;

  @Test
  void logPathCpuPer50Mb() throws Exception {
    byte[] line = "benchmark line of output, sixty-four bytes long with \"quotes\"..\n".getBytes(StandardCharsets.UTF_8);
    byte[] frame = new byte[FRAME];
    for (int i = 0; i < FRAME; i++) {
      frame[i] = line[i % line.length];
    }
    // the secrets a task has: its env values and the API key (some start with letters the output is full of)
    List<String> secrets = List.of("bench-key-6f1c2a8e-5d4b-4e0f-9a3b-2c1d0e9f8a7b", "ghp_S3cr3tT0ken1234567890",
        "tok-12345-secret", "line of outpuX", "s3cr3t-value");
    OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    Vertx vertx = Vertx.vertx();
    ShutdownCoordinator shutdown = new ShutdownCoordinator();
    try {
      WorkerBus bus = WorkerBus.create(vertx);
      AtomicLong encoded = new AtomicLong();
      bus.<TaskLogFrame>consumer(Addresses.OUTBOUND_LOG, msg -> {
        // the chunk arrives as its frame's UTF-8 bytes, as the socket takes them
        encoded.addAndGet(msg.body().length());
        msg.reply(null);
      });
      vertx.deployVerticle(new LogStreamingVerticle(new LogStreamOptions(), bus, WorkerMetrics.NOOP, shutdown)).await(10, TimeUnit.SECONDS);
      ThreadMXBean threads = ManagementFactory.getThreadMXBean();
      double[] results = new double[5];
      double[] writer = new double[results.length];
      double[] loops = new double[results.length];
      for (int run = 0; run < results.length; run++) {
        String taskId = "t" + run;
        TaskOutput out = bus.<TaskOutput>request(Addresses.LOG_OPEN, new OpenTaskLog(taskId, "e", secrets))
            .await(10, TimeUnit.SECONDS);
        long cpu0 = os.getProcessCpuTime();
        long writer0 = threads.getCurrentThreadCpuTime();
        long loops0 = eventLoopCpu(threads);
        long encoded0 = encoded.get();
        for (long written = 0; written < BYTES; written += FRAME) {
          if (!out.write(StdStream.STDOUT, frame, 0, FRAME)) {
            throw new AssertionError("output refused");
          }
          if ((written & ((1 << 20) - 1)) == 0) {
            awaitDrained(encoded, encoded0, written);
          }
        }
        out.end();
        bus.request(Addresses.LOG_CLOSE, taskId).await(30, TimeUnit.SECONDS);
        results[run] = (os.getProcessCpuTime() - cpu0) / 1e9 * 50_000_000 / BYTES;
        writer[run] = (threads.getCurrentThreadCpuTime() - writer0) / 1e9 * 50_000_000 / BYTES;
        loops[run] = (eventLoopCpu(threads) - loops0) / 1e9 * 50_000_000 / BYTES;
        assertEquals(true, encoded.get() - encoded0 >= BYTES, "everything was encoded");
      }
      System.out.printf("%n| figure | worker | raw engine API | ratio | target | |%n| --- | --- | --- | --- | --- | --- |%n"
          + "| log path in one JVM, CPU-s per 50 MB, best of %d: process | %.2f | – | | | |%n"
          + "| writing thread (redact, queue) | %.2f | – | | | |%n"
          + "| event loops (cut, decode, encode) | %.2f | – | | | |%n"
          + "machine: %d CPUs, %s%n", results.length, min(results), min(writer), min(loops),
          Runtime.getRuntime().availableProcessors(), java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim());
    } finally {
      shutdown.markDrained();
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  private static double min(double[] values) {
    return java.util.Arrays.stream(values).min().orElseThrow();
  }

  private static long eventLoopCpu(ThreadMXBean threads) {
    long sum = 0;
    for (ThreadInfo t : threads.getThreadInfo(threads.getAllThreadIds())) {
      if (t != null && t.getThreadName().startsWith("vert.x-eventloop")) {
        sum += Math.max(0, threads.getThreadCpuTime(t.getThreadId()));
      }
    }
    return sum;
  }

  /** Keeps the producer at most a few MB ahead, as the engine's pace does (the sink would drop beyond its bound). */
  private static void awaitDrained(AtomicLong encoded, long encoded0, long written) throws InterruptedException {
    while (encoded.get() - encoded0 < written - 2_000_000) {
      Thread.sleep(0, 200_000);
    }
  }
}
