package dev.oz.worker.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Event;
import com.github.dockerjava.api.model.EventType;
import dev.oz.worker.backend.Availability;
import dev.oz.worker.bus.Deadline;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.backend.TaskOutput;
import dev.oz.worker.backend.CancelReason;
import dev.oz.worker.backend.TaskBackend;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.backend.BackendContext;
import dev.oz.worker.backend.TaskDescription;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each task as a container on the local Docker engine (PROTOCOL.md section 4). Blocking docker-java
 * calls run on a worker pool of its own; waits and log streams use docker-java's callback threads.
 */
public final class DockerBackend implements TaskBackend {
  private static final Logger log = LoggerFactory.getLogger(DockerBackend.class);
  private static final long SHUTDOWN_WAIT_MS = 30_000;

  private final Vertx vertx;
  private final Context context;
  private final WorkerOptions options;
  private final DockerOptions settings;
  private final EngineDiscovery discovery;
  private final Map<String, ContainerRun> running = new HashMap<>();
  private final Map<String, Future<TaskOutcome>> inFlight = new HashMap<>();
  private final Map<String, CancelReason> earlyCancels = new HashMap<>();
  private DockerClient docker;
  private Blocking blocking;
  private DockerRuntime runtime;
  private RenewableHttpClient http;
  private DockerClient probeClient;
  private String engineAddress;
  private EngineHealth health;
  private EventsWatch events;

  /** @param discovery how the engine (and registry credentials) are found: the process environment, or a test's */
  DockerBackend(BackendContext<DockerOptions> backend, EngineDiscovery discovery) {
    this.vertx = backend.vertx();
    this.context = vertx.getOrCreateContext();
    this.options = backend.worker();
    this.settings = backend.options();
    this.discovery = discovery;
  }

  @Override
  public Future<Void> start() {
    String pool = "oz-docker-" + options.getWorkerId() + "-" + UUID.randomUUID().toString().substring(0, 8);
    blocking = new Blocking(vertx.createSharedWorkerExecutor(pool, settings.getBlockingPoolSize()), context);
    return blocking.run(() -> {
      EngineTarget target = discovery.resolve(settings);
      if (target.certPathIgnored()) {
        log.warn("DOCKER_CERT_PATH is set but DOCKER_TLS_VERIFY is not: connecting to {} without TLS, as the docker CLI"
            + " does (set DOCKER_TLS_VERIFY=1 to use the certificates)", target.address());
      }
      http = DockerEngine.httpClient(target);
      docker = DockerEngine.connect(target, http);
      probeClient = DockerEngine.connectForProbes(target);
      engineAddress = target.address();
      String platform = DockerEngine.checkPlatform(docker, target);
      log.info("Docker daemon is reachable, platform: {}, at {}", platform, target.describe());
      removeLeftovers();
      return platform;
    }).map(platform -> {
      health = new EngineHealth(vertx, engineAddress, probe());
      ImagePuller puller = new ImagePuller(docker, blocking, new RegistryAuth(discovery.env()), platform);
      Map<String, String> helperLabels = Map.of(DockerRuntime.WORKER_LABEL, options.getWorkerId(), "oz.role", "sidecar-copy");
      SidecarVolumes sidecars = new SidecarVolumes(docker, blocking, puller, settings.getPullPolicy(), helperLabels);
      runtime = new DockerRuntime(vertx, options, settings, docker, blocking, puller, sidecars, health);
      blocking.observeFailures(health::suspect);
      // before anything else hears of the return: calls then use fresh connections
      health.onReturn(() -> blocking.run(() -> {
        http.renew();
        return null;
      }));
      health.start();
      return (Void) null;
    }).onFailure(err -> release());
  }

  /** Blocking: containers of this worker id that a previous process left behind. */
  private void removeLeftovers() {
    List<Container> leftovers = docker.listContainersCmd().withShowAll(true)
        .withLabelFilter(Map.of(DockerRuntime.WORKER_LABEL, options.getWorkerId())).exec();
    for (Container c : leftovers) {
      String task = c.getLabels() == null ? null : c.getLabels().get(DockerRuntime.TASK_LABEL);
      String what = task != null ? "task " + task : "a sidecar copy";
      if (!options.isCleanup()) {
        log.info("Keeping container {} of {} from a previous run (cleanup disabled)", c.getId().substring(0, 12), what);
        continue;
      }
      log.warn("Removing container {} of {} left behind by a previous run", c.getId().substring(0, 12), what);
      try {
        docker.removeContainerCmd(c.getId()).withForce(true).withRemoveVolumes(true).exec();
      } catch (RuntimeException e) {
        log.warn("Failed to remove leftover container {}: {}", c.getId().substring(0, 12), e.getMessage());
      }
    }
  }

  @Override
  public Future<TaskOutcome> execute(TaskDescription task, TaskOutput output) {
    ContainerSpec spec = ContainerSpec.of(task, settings, options.getEnvironment());
    ContainerRun run = new ContainerRun(runtime, spec, output);
    CancelReason early = earlyCancels.remove(spec.taskId());
    if (early != null) {
      run.cancel(early);
    }
    running.put(spec.taskId(), run);
    Future<TaskOutcome> outcome = run.run().onComplete(ar -> running.remove(spec.taskId()));
    inFlight.put(spec.taskId(), outcome);
    return outcome.onComplete(ar -> inFlight.remove(spec.taskId()));
  }

  @Override
  public Future<Void> cancel(String taskId, CancelReason reason) {
    ContainerRun run = running.get(taskId);
    if (run != null) {
      run.cancel(reason);
    } else {
      // the cancel overtook the execute request: apply it when that arrives
      earlyCancels.put(taskId, reason);
    }
    return Future.succeededFuture();
  }

  /** The tracked engine state: a probe costs the engine nothing. */
  @Override
  public Future<Void> checkHealth() {
    if (health == null) {
      return Future.failedFuture("Docker backend not started");
    }
    return health.isUp() ? Future.succeededFuture() : Future.failedFuture(health.detail());
  }

  @Override
  public void availabilityChanges(Handler<Availability> listener) {
    health.onChange(listener);
  }

  /** Pings with the short-timeout client; watches the engine's daemon events (rare) as a stream that ends with it. */
  private EngineHealth.Probe probe() {
    return new EngineHealth.Probe() {
      @Override
      public Future<Void> ping() {
        DockerClient client = probeClient;
        return blocking.run(() -> {
          client.pingCmd().exec();
          return null;
        });
      }

      @Override
      public Future<Void> watch() {
        EventsWatch watch = new EventsWatch(blocking);
        events = watch;
        try {
          docker.eventsCmd().withEventTypeFilter(EventType.DAEMON).exec(watch);
        } catch (RuntimeException e) {
          watch.close();
        }
        return watch.ended();
      }
    };
  }

  /** The engine's event stream, read only for its end. */
  private static final class EventsWatch extends AsyncCallback<Event> {
    private final Blocking blocking;
    private final Promise<Void> ended = Promise.promise();

    EventsWatch(Blocking blocking) {
      this.blocking = blocking;
    }

    @Override
    public void onNext(Event event) {
    }

    @Override
    protected void finished(Throwable error) {
      blocking.onContext(ended::tryComplete);
    }

    Future<Void> ended() {
      return ended.future();
    }
  }

  @Override
  public Future<Void> shutdown() {
    // runs still here were not drained in time: stop them, and let calls in flight finish (bounded) so
    // nothing they create outlives the client
    List<Future<?>> ending = new ArrayList<>();
    for (ContainerRun run : running.values()) {
      ending.add(run.abandon());
    }
    ending.addAll(inFlight.values());
    return Deadline.atMost(vertx, Future.join(ending), SHUTDOWN_WAIT_MS, () -> { }).eventually(() -> {
      release();
      return Future.succeededFuture();
    });
  }

  private void release() {
    if (health != null) {
      health.close();
    }
    if (events != null) {
      events.close();
    }
    if (probeClient != null) {
      try {
        probeClient.close();
      } catch (IOException e) {
        log.debug("Closing the Docker probe client: {}", e.getMessage());
      }
      probeClient = null;
    }
    if (docker != null) {
      try {
        docker.close();
      } catch (IOException e) {
        log.debug("Closing the Docker client: {}", e.getMessage());
      }
      docker = null;
    }
    if (blocking != null) {
      blocking.close();
    }
  }
}
