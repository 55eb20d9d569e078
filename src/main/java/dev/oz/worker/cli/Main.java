package dev.oz.worker.cli;

import dev.oz.worker.Version;
import dev.oz.worker.WorkerVerticle;
import dev.oz.worker.config.ConfigException;
import dev.oz.worker.config.WorkerConfigLoader;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.devplane.DevControlPlane;
import dev.oz.worker.backend.BackendRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxBuilder;
import io.vertx.core.VertxOptions;
import io.vertx.core.file.FileSystemOptions;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code java -jar worker-fat.jar [flags]}: reads the configuration, starts Vert.x and the worker, and shuts
 * down gracefully on SIGTERM/SIGINT (a second signal skips the grace period). Exit codes: 0 after a clean
 * shutdown, 1 when the worker cannot start, 2 for bad flags or configuration.
 */
public final class Main {
  static final int EXIT_OK = 0;
  static final int EXIT_FAILED = 1;
  static final int EXIT_USAGE = 2;

  private Main() {
  }

  public static void main(String[] args) {
    // for a process that serves (a health check is over in a moment); the management beans they need take a
    // moment to load, and nothing waits for them
    if (args.length == 0 || !args[0].equals("healthcheck")) {
      Thread jvmDefaults = new Thread(() -> {
        JitDefaults.apply();
        HeapDefaults.apply();
      }, "oz-jvm-defaults");
      jvmDefaults.setDaemon(true);
      jvmDefaults.start();
    }
    // Netty's JFR events are of no use to an operator and loading the JFR machinery costs start-up time
    if (System.getProperty("io.netty.jfr.enabled") == null) {
      System.setProperty("io.netty.jfr.enabled", "false");
    }
    System.exit(run(Arrays.asList(args), System.getenv(), System.out, System.err));
  }

  static int run(List<String> args, Map<String, String> env, PrintStream out, PrintStream err) {
    LoggingSetup.defaults();
    if (!args.isEmpty() && args.get(0).equals("healthcheck")) {
      return HealthCheck.run(args.subList(1, args.size()), env, out);
    }
    if (!args.isEmpty() && args.get(0).equals("dev")) {
      return DevCommand.run(args.subList(1, args.size()), env, out, err);
    }
    CommandLine cli;
    WorkerOptions options;
    BackendRegistry backends = BackendRegistry.load();
    try {
      cli = CommandLine.parse(args, backends.settings());
      if (cli.help()) {
        out.print(CommandLine.usage(backends.settings()));
        return EXIT_OK;
      }
      if (cli.version()) {
        out.println("oz-agent-worker " + Version.get());
        return EXIT_OK;
      }
      options = WorkerConfigLoader.load(cli.conf(), cli.configFile() == null ? null : Path.of(cli.configFile()),
          env, o -> cli.applyTo(o, env), backends.settings());
    } catch (ConfigException e) {
      err.println("error: " + e.getMessage());
      return EXIT_USAGE;
    }
    LoggingSetup.configure(options.getLogLevel(), options.getLogFormat());
    return serve(options, backends, null);
  }

  /**
   * Runs the worker (when {@code options} is not null) and the local control plane (when {@code plane} is
   * not null) until SIGTERM/SIGINT; then the worker shuts down gracefully first.
   */
  static int serve(WorkerOptions options, BackendRegistry backends, DevControlPlane plane) {
    Logger log = LoggerFactory.getLogger(Main.class);
    PrometheusMeterRegistry registry = null;
    // the worker reads no files through Vert.x: no class-path file cache (a temporary directory made at start-up).
    // Netty's epoll transport where it loads: a tenth less CPU per log flood than NIO (bench/RESULTS.md)
    VertxOptions vertxOptions = new VertxOptions()
        .setPreferNativeTransport(true)
        .setFileSystemOptions(new FileSystemOptions().setClassPathResolvingEnabled(false).setFileCachingEnabled(false));
    if (options != null && options.getMetrics().isEnabled()) {
      // Vert.x's own metrics (event loops, HTTP, event bus) join the worker's on the same endpoint
      registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      vertxOptions.setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true)
          .setJvmMetricsEnabled(false).setRegistryName("oz-worker"));
    }
    VertxBuilder builder = Vertx.builder().with(vertxOptions);
    if (registry != null) {
      builder.withMetrics(new MicrometerMetricsFactory(registry));
    }
    Vertx vertx = builder.build();
    if (vertx.isNativeTransportEnabled()) {
      log.debug("Event loops on Netty's epoll transport");
    } else {
      Throwable why = vertx.unavailableNativeTransportCause();
      log.info("Netty's epoll transport is unavailable ({}): the event loops use Java NIO, which costs more CPU"
          + " per byte of task output", why == null ? "not on this platform" : why.getMessage());
    }
    WorkerVerticle worker = options == null ? null : new WorkerVerticle(options, backends, registry);
    // installed before anything starts, so a signal during start-up is still a graceful shutdown
    CountDownLatch shutdownRequested = new CountDownLatch(1);
    WorkerStop stop = new WorkerStop(vertx);
    ShutdownSignals.install(signal -> {
      if (worker != null) {
        worker.beginShutdown(); // from the signal thread: no assignment is claimed after this
      }
      stop.request(); // from the signal thread: the worker stops claiming before this line is logged
      log.info("Received signal {}, shutting down gracefully...", signal);
      shutdownRequested.countDown();
    }, signal -> {
      log.warn("Received signal {} again: cancelling running tasks now", signal);
      if (worker != null) {
        worker.skipShutdownGrace();
      }
    });
    String planeId = null;
    try {
      if (plane != null) {
        planeId = vertx.deployVerticle(plane).await();
        DevCommand.printBanner(plane, options);
      }
      if (worker != null) {
        stop.deployed(vertx.deployVerticle(worker).await());
        worker.finished().onSuccess(v -> {
          log.info("One-shot task reported: shutting down");
          stop.request();
          shutdownRequested.countDown();
        });
      }
    } catch (Exception | LinkageError e) {
      // a broken class path (LinkageError) must end the process too: Vert.x threads would keep it alive
      log.error("Failed to start: {}", e.getMessage() != null ? e.getMessage() : e.toString());
      vertx.close().await();
      return e instanceof ConfigException ? EXIT_USAGE : EXIT_FAILED;
    }
    int exitCode = EXIT_OK;
    try {
      shutdownRequested.await();
      stop.stopping().await();
      if (planeId != null) {
        vertx.undeploy(planeId).await();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      exitCode = EXIT_FAILED;
    } catch (Exception e) {
      log.error("Shutdown failed: {}", e.getMessage(), e);
      exitCode = EXIT_FAILED;
    }
    try {
      vertx.close().await();
    } catch (Exception e) {
      log.warn("Closing Vert.x: {}", e.getMessage());
    }
    return exitCode;
  }

  /** Undeploys the worker once, as soon as both a stop was requested and the worker is deployed. */
  private static final class WorkerStop {
    private final Vertx vertx;
    private String deploymentId;
    private boolean requested;
    private Future<Void> stopping;

    WorkerStop(Vertx vertx) {
      this.vertx = vertx;
    }

    synchronized void deployed(String id) {
      deploymentId = id;
      startIfReady();
    }

    synchronized void request() {
      requested = true;
      startIfReady();
    }

    private void startIfReady() {
      if (requested && deploymentId != null && stopping == null) {
        stopping = vertx.undeploy(deploymentId);
      }
    }

    synchronized Future<Void> stopping() {
      return stopping == null ? Future.succeededFuture() : stopping;
    }
  }
}
