package dev.oz.worker.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The worker as operators run it ({@code java -jar target/worker-fat.jar ...}) in a process of its own, so a test can
 * SIGKILL or SIGTERM it; its output goes to a file.
 */
public final class WorkerProcess implements AutoCloseable {
  public final Process process;
  public final Path output;

  private WorkerProcess(Process process, Path output) {
    this.process = process;
    this.output = output;
  }

  public static Path jar() {
    Path jar = Path.of(System.getProperty("worker.jar", "target/worker-fat.jar"));
    if (!Files.isRegularFile(jar)) {
      throw new AssertionError("build the jar first (./mvnw package): " + jar);
    }
    return jar;
  }

  /** Starts {@code java -jar worker-fat.jar args...} without OTLP export and without an API key from the environment. */
  public static WorkerProcess start(List<String> args, Path output) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("java", "-Xmx256m", "-jar", jar().toString()));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile());
    pb.environment().remove("OZ_API_KEY");
    pb.environment().remove("WARP_API_KEY");
    pb.environment().put("OTEL_METRICS_EXPORTER", "none");
    return new WorkerProcess(pb.start(), output);
  }

  public String output() {
    try {
      return Files.readString(output, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  /** Sends a signal by name ({@code KILL}, {@code TERM}) as an init system or the OOM killer would. */
  public void signal(String name) throws IOException, InterruptedException {
    new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start().waitFor();
  }

  public int awaitExit(Duration timeout) throws InterruptedException {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("worker process did not exit within " + timeout + ":\n" + output());
    }
    return process.exitValue();
  }

  @Override
  public void close() {
    process.destroyForcibly();
    try {
      process.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
