package dev.oz.worker;

import dev.oz.worker.metrics.JvmMeters;
import dev.oz.worker.metrics.MicrometerWorkerMetrics;
import dev.oz.worker.metrics.PendingWorkerMetrics;
import dev.oz.worker.ops.OpsHttpVerticle;
import dev.oz.worker.metrics.Telemetry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import dev.oz.worker.bus.Addresses;
import dev.oz.worker.bus.WorkerBus;
import dev.oz.worker.controlplane.ConnectionState;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.controlplane.ControlPlaneVerticle;
import dev.oz.worker.backend.BackendCapabilities;
import dev.oz.worker.backend.BackendFactory;
import dev.oz.worker.backend.BackendRegistry;
import dev.oz.worker.logs.LogStreamingVerticle;
import dev.oz.worker.metrics.WorkerMetrics;
import dev.oz.worker.protocol.ProtocolJson;
import dev.oz.worker.task.BackendVerticle;
import dev.oz.worker.bus.ShutdownCoordinator;
import dev.oz.worker.task.TaskLifecycleVerticle;
import dev.oz.worker.config.ConfigException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker, as one deployable verticle: {@code vertx.deployVerticle(new WorkerVerticle(), new
 * DeploymentOptions().setConfig(json))} with the keys of {@code conf/worker.json}. It only wires: options, metrics
 * and telemetry, then the backend, log-streaming, lifecycle, ops and control-plane verticles as its children, which
 * talk over the worker's event bus (see docs/ARCHITECTURE.md). Undeploying it is a graceful shutdown: running tasks
 * are cancelled and reported, the outbox is flushed, the socket is closed with 1000, and everything the worker
 * created is released.
 */
public final class WorkerVerticle extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(WorkerVerticle.class);
  /** How long deferred start-up work waits for the first connection. */
  static final long DEFERRED_WORK_WAIT_MS = 5_000;

  private final WorkerOptions presetOptions;
  private final BackendRegistry backends;
  private final BackendFactory<?> fixedBackend;
  private final PrometheusMeterRegistry presetRegistry;
  private final ShutdownCoordinator shutdown = new ShutdownCoordinator();
  private final Promise<Void> finished = Promise.promise();
  private final List<AutoCloseable> closeOnStop = new ArrayList<>();
  private WorkerOptions options;
  private WorkerBus bus;
  private OpsHttpVerticle ops;
  private PrometheusMeterRegistry registry;
  private WorkerMetrics metrics = WorkerMetrics.NOOP;
  private Telemetry telemetry = Telemetry.OFF;
  private Future<Telemetry> telemetryStarted = Future.succeededFuture(Telemetry.OFF);
  /** The first connection, or a while without one: deferred start-up work begins (see {@link #completeOnFirstConnection}). */
  private final Promise<Void> connectedOrLater = Promise.promise();
  private LogStreamingVerticle logStreaming;
  private boolean stopping;

  /** Reads its options from the deployment config (the keys of conf/worker.json); the backend named there. */
  public WorkerVerticle() {
    this(null, BackendRegistry.load(), null);
  }

  /** Runs with these options, on the registered backend they name. */
  public WorkerVerticle(WorkerOptions options) {
    this(options, BackendRegistry.load(), null);
  }

  /** Runs on this backend, registered or not (embedding and tests); {@code options.backend} is only its label. */
  public WorkerVerticle(WorkerOptions options, BackendFactory<?> backend, PrometheusMeterRegistry registry) {
    this(options, null, backend, registry);
  }

  /**
   * Full control.
   *
   * @param options null to read the deployment config
   * @param backends where {@code options.backend} is looked up
   * @param registry where metrics go when {@code metrics.enabled}; null for a registry of the worker's own
   */
  public WorkerVerticle(WorkerOptions options, BackendRegistry backends, PrometheusMeterRegistry registry) {
    this(options, backends, null, registry);
  }

  private WorkerVerticle(WorkerOptions options, BackendRegistry backends, BackendFactory<?> fixedBackend,
      PrometheusMeterRegistry registry) {
    this.presetOptions = options;
    this.backends = backends;
    this.fixedBackend = fixedBackend;
    this.presetRegistry = registry;
  }

  @Override
  public Future<?> start() {
    bus = WorkerBus.create(vertx);
    // binding and validating the options (Jackson's first use in the process) and binding the meters are slow: not on
    // the event loop
    return vertx.executeBlocking(this::optionsAndBackend)
        .onFailure(e -> bus.close())
        .compose(this::start);
  }

  private BackendVerticle<?> optionsAndBackend() {
    options = presetOptions != null ? new WorkerOptions(presetOptions) : WorkerOptions.fromJson(config());
    BackendFactory<?> factory;
    if (fixedBackend != null) {
      factory = fixedBackend;
      options.validate();
    } else {
      options.validate(backends.settings());
      factory = backends.get(options.getBackend());
    }
    BackendVerticle<?> backend = new BackendVerticle<>(options, bus, factory, shutdown);
    if (options.isOneShot() && !backend.capabilities().oneShot()) {
      throw new ConfigException("backend \"" + factory.name() + "\" does not support one-shot mode");
    }
    if (options.getMetrics().isEnabled()) {
      registry = presetRegistry != null ? presetRegistry : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      MicrometerWorkerMetrics meters = new MicrometerWorkerMetrics(registry, options.getWorkerId(),
          options.getBackend(), Version.get(), options.getMaxConcurrentTasks());
      if (presetRegistry == null) {
        closeOnStop.add(registry::close);
      }
      closeOnStop.add(meters::close);
      metrics = meters;
    }
    return backend;
  }

  private Future<?> start(BackendVerticle<?> backend) {
    log.info("Starting worker {} (backend {}, version {})", options.getWorkerId(), options.getBackend(), Version.get());
    log.info("{}; server root URL for agents: {}; task_log streaming {}", options.getEndpoint().why(),
        options.getServerRootUrl(), options.getLogs().isStream() ? "on" : "off");
    options.getWarnings().forEach(w -> log.warn("{}", w));
    // first uses that are slow, done here rather than on an event loop: Jackson, and Netty's pooled allocator (its
    // first chunk registers a Flight Recorder event type, which loads JFR's metadata: up to a second)
    Future<Object> warmedUp = vertx.executeBlocking(() -> {
      ProtocolJson.prepare();
      new io.netty.buffer.AdaptiveByteBufAllocator().directBuffer(1).release();
      return null;
    });
    // The OpenTelemetry SDK takes a second or more of CPU to load. Task spans need it from the first assignment on,
    // so a worker that exports traces loads it alongside the backend; pushed metrics need it only to send what was
    // measured, so otherwise it loads once the connection is under way, and what was measured meanwhile is replayed.
    boolean tracesTasks = !options.getTelemetry().pushedTracesExporters().isEmpty();
    boolean pushesMetrics = !options.getTelemetry().pushedMetricsExporters().isEmpty();
    PendingWorkerMetrics pushedMetrics = new PendingWorkerMetrics();
    if (tracesTasks) {
      startTelemetry(pushedMetrics, false);
    }
    Future<String> backendStarted = vertx.deployVerticle(backend);
    // the ops server needs neither the backend nor the connection: it starts alongside them
    Future<String> opsStarted = deployOps();
    // back on this verticle's context before deploying more: a verticle deployed from another context would not be
    // a child of this one, and undeploying the worker would not stop it
    Promise<Void> allStarted = Promise.promise();
    Future.all(warmedUp, telemetryStarted, backendStarted, opsStarted)
        .onComplete(ar -> context.runOnContext(v -> allStarted.handle(ar.mapEmpty())));
    connectedOrLater.future().onComplete(v -> {
      if (!tracesTasks) {
        startTelemetry(pushedMetrics, stopping);
      }
      if (logStreaming != null) {
        logStreaming.warmUpShipping();
      }
    });
    return allStarted.future()
        .compose(started -> {
          metrics = WorkerMetrics.fanOut(List.of(metrics, pushesMetrics ? pushedMetrics : WorkerMetrics.NOOP));
          return startTasksAndConnection(backend.capabilities());
        })
        .onSuccess(id -> completeOnFirstConnection(connectedOrLater, DEFERRED_WORK_WAIT_MS))
        .onFailure(err -> {
          shutdown.markDrained();
          bus.close();
          closeAll();
          // the SDK may still be loading: close it once it is there
          telemetryStarted.onSuccess(t -> t.close(vertx));
        });
  }

  /** {@code forLastExport}: the worker is stopping, the SDK is wanted only if the last export can be delivered. */
  private void startTelemetry(PendingWorkerMetrics pushedMetrics, boolean forLastExport) {
    telemetryStarted = (forLastExport ? Telemetry.startForLastExport(vertx, options, Version.get())
        : Telemetry.start(vertx, options, Version.get())).onSuccess(t -> {
      telemetry = t;
      int dropped = pushedMetrics.attach(t.metrics());
      if (dropped > 0) {
        log.warn("OpenTelemetry: {} measurements made while the SDK was loading were not exported", dropped);
      }
    });
  }

  /**
   * Completes {@code done} when the worker is first connected, or after {@code ms} without a connection: what can
   * wait for it (loading the OpenTelemetry SDK and the task-log exporter, a second or two of CPU) does not slow the
   * first connection down on a small machine.
   */
  private void completeOnFirstConnection(Promise<Void> done, long ms) {
    MessageConsumer<ConnectionState> changes = bus.consumer(Addresses.CONNECTION, msg -> {
      if (msg.body().connected()) {
        done.tryComplete();
      }
    });
    long timer = vertx.setTimer(ms, id -> done.tryComplete());
    done.future().onComplete(v -> {
      changes.unregister();
      vertx.cancelTimer(timer);
    });
  }

  /** Log streaming and the task lifecycle, then the connection (it connects at once), once metrics are settled. */
  private Future<String> startTasksAndConnection(BackendCapabilities capabilities) {
    TaskLifecycleVerticle lifecycle = new TaskLifecycleVerticle(options, capabilities, bus, metrics,
        telemetry.tracer(), shutdown);
    logStreaming = new LogStreamingVerticle(options, bus, metrics, shutdown);
    return vertx.deployVerticle(logStreaming)
        .compose(id -> {
          lifecycle.oneShotDone().onComplete(finished);
          return vertx.deployVerticle(lifecycle).onFailure(err -> shutdown.markDrained());
        })
        .compose(id -> vertx.deployVerticle(new ControlPlaneVerticle(options, Version.get(), metrics, bus, shutdown)))
        .onSuccess(id -> lifecycle.adoptLeftTasks());
  }

  /** Listening before the control plane is deployed, so it sees every change of the connection's state. */
  private Future<String> deployOps() {
    if (registry == null) {
      return Future.succeededFuture("");
    }
    // the JVM's MXBeans load slowly (cgroup probing) on first use: on a worker thread, before /metrics answers
    return vertx.executeBlocking(() -> JvmMeters.bind(registry), false)
        .compose(gcListeners -> {
          closeOnStop.addAll(gcListeners);
          ops = new OpsHttpVerticle(options, bus, registry, Version.get(), shutdown);
          return vertx.deployVerticle(ops);
        });
  }

  /** The port of the metrics and health server, or -1 when metrics are off (useful with {@code metrics.port} 0). */
  /**
   * Completes when the worker has nothing more to do: a one-shot worker after its task's report. The owner then
   * undeploys it (the command line exits 0); never completes for an ordinary worker.
   */
  public Future<Void> finished() {
    return finished.future();
  }

  public int metricsPort() {
    return ops == null ? -1 : ops.port();
  }

  private void closeAll() {
    for (AutoCloseable c : closeOnStop) {
      try {
        c.close();
      } catch (Exception e) {
        log.debug("Closing {}: {}", c, e.getMessage());
      }
    }
    closeOnStop.clear();
  }

  /**
   * Stop taking work now, from any thread (a signal handler): assignments that arrive before the undeploy reaches the
   * lifecycle are rejected too.
   */
  public void beginShutdown() {
    shutdown.markStopping();
  }

  /** A second shutdown request: cancel running tasks now rather than after the grace period. */
  public void skipShutdownGrace() {
    shutdown.skipGrace();
  }

  @Override
  public Future<?> stop() {
    // Children have stopped: every report was delivered (or the close timeout passed) and the socket is closed.
    logStreaming = null; // stopped: nothing to warm up any more
    stopping = true;
    connectedOrLater.tryComplete(); // an SDK not loaded yet still makes the last export (when it can be delivered)
    bus.close();
    closeAll();
    // the last export carries the final counts; bounded. An SDK still loading is closed once it is there.
    return telemetryStarted.otherwise(Telemetry.OFF).compose(t -> t.close(vertx))
        .onComplete(ar -> log.info("Worker shutdown complete"));
  }
}
