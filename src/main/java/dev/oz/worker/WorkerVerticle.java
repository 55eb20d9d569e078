package dev.oz.worker;

import dev.oz.worker.bus.Addresses;
import dev.oz.worker.metrics.JvmMeters;
import dev.oz.worker.metrics.MicrometerWorkerMetrics;
import dev.oz.worker.metrics.OpsHttpVerticle;
import dev.oz.worker.metrics.Telemetry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import dev.oz.worker.bus.WorkerBus;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.controlplane.ConnectionState;
import dev.oz.worker.controlplane.ControlPlaneConnection;
import dev.oz.worker.backend.BackendCapabilities;
import dev.oz.worker.backend.BackendFactory;
import dev.oz.worker.backend.BackendRegistry;
import dev.oz.worker.logs.LogStreamingVerticle;
import dev.oz.worker.metrics.WorkerMetrics;
import dev.oz.worker.protocol.ProtocolJson;
import dev.oz.worker.protocol.ServerMessage;
import dev.oz.worker.protocol.TaskAssignment;
import dev.oz.worker.protocol.TaskRejected;
import dev.oz.worker.protocol.TaskLog;
import dev.oz.worker.protocol.WorkerMessage;
import dev.oz.worker.task.BackendVerticle;
import dev.oz.worker.task.ShutdownCoordinator;
import dev.oz.worker.task.TaskLifecycleVerticle;
import dev.oz.worker.config.ConfigException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker, as one deployable verticle: {@code vertx.deployVerticle(new WorkerVerticle(), new
 * DeploymentOptions().setConfig(json))} with the keys of {@code conf/worker.json}. It owns the control-plane
 * connection and deploys the backend, log-streaming and lifecycle verticles as its children. Undeploying it
 * is a graceful shutdown: running tasks are cancelled and reported, the outbox is flushed, the socket is
 * closed with 1000, and everything the worker created is released.
 */
public final class WorkerVerticle extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(WorkerVerticle.class);

  private final WorkerOptions presetOptions;
  private final BackendRegistry backends;
  private final BackendFactory<?> fixedBackend;
  private final PrometheusMeterRegistry presetRegistry;
  private final ShutdownCoordinator shutdown = new ShutdownCoordinator();
  private final Promise<Void> finished = Promise.promise();
  private final List<AutoCloseable> closeOnStop = new ArrayList<>();
  private WorkerOptions options;
  private WorkerBus bus;
  private ControlPlaneConnection connection;
  private OpsHttpVerticle ops;
  private PrometheusMeterRegistry registry;
  private WorkerMetrics metrics = WorkerMetrics.NOOP;
  private Telemetry telemetry = Telemetry.OFF;

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
    BackendVerticle<?> backend;
    try {
      options = presetOptions != null ? new WorkerOptions(presetOptions) : WorkerOptions.fromJson(config());
      BackendFactory<?> factory;
      if (fixedBackend != null) {
        factory = fixedBackend;
        options.validate();
      } else {
        options.validate(backends.settings());
        factory = backends.get(options.getBackend());
      }
      backend = new BackendVerticle<>(options, bus, factory, shutdown);
      if (options.isOneShot() && !backend.capabilities().oneShot()) {
        throw new ConfigException("backend \"" + factory.name() + "\" does not support one-shot mode");
      }
    } catch (RuntimeException e) {
      bus.close();
      return Future.failedFuture(e);
    }
    if (options.getMetrics().isEnabled()) {
      registry = presetRegistry != null ? presetRegistry : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      MicrometerWorkerMetrics meters;
      try {
        meters = new MicrometerWorkerMetrics(registry, options.getWorkerId(), options.getBackend(), Version.get(),
            options.getMaxConcurrentTasks());
      } catch (IllegalStateException e) {
        bus.close();
        return Future.failedFuture(e);
      }
      if (presetRegistry == null) {
        closeOnStop.add(registry::close);
      }
      closeOnStop.add(meters::close);
      closeOnStop.addAll(JvmMeters.bind(registry));
      metrics = meters;
    }
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
    // the OpenTelemetry SDK loads while the backend checks its engine: neither waits for the other
    Future<Telemetry> telemetryStarted = Telemetry.start(vertx, options, Version.get()).onSuccess(t -> telemetry = t);
    Future<String> backendStarted = vertx.deployVerticle(backend);
    return Future.all(warmedUp, telemetryStarted, backendStarted)
        .compose(started -> {
          metrics = WorkerMetrics.fanOut(List.of(metrics, telemetry.metrics()));
          return startTasksAndConnection(backend.capabilities());
        })
        .onSuccess(id -> connection.start())
        .onFailure(err -> {
          shutdown.markDrained();
          bus.close();
          closeAll();
          // the SDK may still be loading: close it once it is there
          telemetryStarted.onSuccess(t -> t.close(vertx));
        });
  }

  /** The connection, log streaming, the task lifecycle and the ops server, once metrics are settled. */
  private Future<String> startTasksAndConnection(BackendCapabilities capabilities) {
    connection = new ControlPlaneConnection(vertx, options, Version.get(), metrics, new ControlPlaneConnection.Listener() {
      @Override
      public void onMessage(ServerMessage message) {
        if (shutdown.tasksDrained().isComplete() && message instanceof TaskAssignment a) {
          // the lifecycle has stopped: answer for it so the control plane can place the task elsewhere
          connection.send(new TaskRejected(a.taskId(), TaskRejected.SHUTTING_DOWN));
          return;
        }
        bus.send(Addresses.INBOUND, message);
      }

      @Override
      public void onConnectionChange(boolean connected) {
        bus.publish(Addresses.CONNECTION, new ConnectionState(connected, Instant.now()));
      }
    });
    bus.<WorkerMessage>consumer(Addresses.OUTBOUND, msg -> {
      if (msg.body() instanceof TaskLog chunk) {
        connection.sendLog(chunk).onComplete(ar -> {
          if (ar.succeeded()) {
            msg.reply(null);
          } else {
            msg.fail(1, ar.cause().getMessage());
          }
        });
      } else {
        connection.send(msg.body());
      }
    });
    return vertx.deployVerticle(new LogStreamingVerticle(options.getLogs(), bus, metrics, shutdown))
        .compose(id -> {
          TaskLifecycleVerticle lifecycle = new TaskLifecycleVerticle(options, capabilities, bus, metrics,
              telemetry.tracer(), shutdown);
          lifecycle.oneShotDone().onComplete(finished);
          return vertx.deployVerticle(lifecycle).onFailure(err -> shutdown.markDrained());
        })
        .compose(id -> deployOps());
  }

  private Future<String> deployOps() {
    if (registry == null) {
      return Future.succeededFuture("");
    }
    ops = new OpsHttpVerticle(options, bus, registry, Version.get(), shutdown);
    return vertx.deployVerticle(ops);
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

  /** A second shutdown request: cancel running tasks now rather than after the grace period. */
  public void skipShutdownGrace() {
    shutdown.skipGrace();
  }

  @Override
  public Future<?> stop() {
    // Children (lifecycle, logs, backend) have stopped: every terminal report is in the outbox.
    return connection.close(options.getConnection().getCloseTimeout().toMillis())
        .eventually(() -> {
          bus.close();
          closeAll();
          return telemetry.close(vertx); // the last export carries the final counts; bounded
        })
        .onComplete(ar -> log.info("Worker shutdown complete"));
  }
}
