package dev.oz.worker.docker;

import com.github.dockerjava.api.DockerClient;
import dev.oz.worker.backend.AdoptedTask;
import com.github.dockerjava.api.model.Container;
import dev.oz.worker.backend.Availability;
import dev.oz.worker.bus.Deadline;
import dev.oz.worker.config.EnvEntry;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.backend.MetadataEnv;
import dev.oz.worker.protocol.FailureReason;
import dev.oz.worker.backend.TaskOutput;
import dev.oz.worker.backend.CancelReason;
import dev.oz.worker.backend.TaskBackend;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.backend.BackendContext;
import dev.oz.worker.backend.TaskDescription;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
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
 * calls run on a worker pool of its own; waits and log streams are non-blocking HTTP ({@link EngineStreams}).
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
  private final Map<String, Future<?>> inFlight = new HashMap<>();
  private final Map<String, CancelReason> earlyCancels = new HashMap<>();
  /** Runs that ended, until the lifecycle says their report was handed on ({@link #reported}) or they are removed. */
  private final Map<String, ContainerRun> awaitingReport = new HashMap<>();
  private DockerClient docker;
  private EngineStreams streams;
  private Blocking blocking;
  private DockerRuntime runtime;
  /** Containers an earlier process of this worker id left behind, until the lifecycle resumes them. */
  private ContainerAdoption adoption;
  private RenewableHttpClient http;
  private DockerClient probeClient;
  private String engineAddress;
  private EngineHealth health;
  private ContainerExits exits;

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
      EngineStreams.warmUp();
      streams = EngineStreams.connect(vertx, target);
      exits = new ContainerExits(streams, options.getWorkerId());
      String platform = DockerEngine.checkPlatform(docker, target);
      log.info("Docker daemon is reachable, platform: {}, at {}", platform, target.describe());
      adoption = ContainerAdoption.scan(docker, options, settings);
      return platform;
    }).map(platform -> {
      health = new EngineHealth(vertx, engineAddress, probe());
      ImagePuller puller = new ImagePuller(docker, blocking, new RegistryAuth(discovery.env()), platform);
      Map<String, String> helperLabels = Map.of(DockerRuntime.WORKER_LABEL, options.getWorkerId(), "oz.role", "sidecar-copy");
      SidecarVolumes sidecars = new SidecarVolumes(docker, blocking, puller, settings.getPullPolicy(), helperLabels);
      runtime = new DockerRuntime(vertx, options, settings, docker, streams, exits, blocking, puller, sidecars, health);
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

  @Override
  public Future<TaskOutcome> execute(TaskDescription task, TaskOutput output) {
    List<String> configured = new ArrayList<>();
    settings.getEnvironment().forEach(e -> configured.add(e.name()));
    options.getEnvironment().forEach(e -> configured.add(e.name()));
    String conflict = MetadataEnv.conflict(task.env(), configured);
    if (conflict != null) {
      // before any engine call: an operator variable would silently replace the server's metadata
      output.end();
      return Future.succeededFuture(TaskOutcome.failed(FailureReason.CONTAINER_CREATE, conflict));
    }
    ContainerSpec spec = ContainerSpec.of(task, settings, options.getEnvironment());
    // the operator's docker.environment values are as secret as the assignment's (-e values are not, by design)
    output.addSecrets(settings.getEnvironment().stream().map(EnvEntry::value).toList());
    ContainerRun run = new ContainerRun(runtime, spec, output);
    CancelReason early = earlyCancels.remove(spec.taskId());
    if (early != null) {
      run.cancel(early);
    }
    return track(spec.taskId(), run, run.run());
  }

  private Future<TaskOutcome> track(String taskId, ContainerRun run, Future<TaskOutcome> outcome) {
    running.put(taskId, run);
    outcome = outcome.onComplete(ar -> {
      running.remove(taskId);
      if (run.removed().isComplete()) {
        return; // nothing to remove (no container, or left for the next worker process)
      }
      ContainerRun earlier = awaitingReport.put(taskId, run);
      if (earlier != null) {
        earlier.reported(); // the lifecycle reports an execution before it starts the task's next one
      }
    });
    run.removed().onComplete(ar -> awaitingReport.remove(taskId, run));
    // in flight until the container is gone too: shutdown waits for removals that follow a report
    Future<?> finished = Future.join(outcome, run.removed());
    inFlight.put(taskId, finished);
    finished.onComplete(ar -> {
      if (inFlight.get(taskId) == finished) {
        inFlight.remove(taskId);
      }
    });
    return outcome;
  }

  /** Starts the removal of the ended task's container (which waits for this, see {@link ContainerRun#reported()}). */
  @Override
  public void reported(String taskId) {
    ContainerRun run = awaitingReport.remove(taskId);
    if (run != null) {
      run.reported();
    }
  }

  @Override
  public Future<List<AdoptedTask>> adoptable() {
    return Future.succeededFuture(adoption == null ? List.of() : adoption.tasks());
  }

  @Override
  public Future<TaskOutcome> resume(AdoptedTask task, TaskOutput output) {
    ContainerRun run = adoption == null ? null : adoption.take(task.taskId(), runtime, output);
    if (run == null) {
      return Future.failedFuture("no container of task " + task.taskId() + " to adopt");
    }
    return track(task.taskId(), run, run.follow());
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

  /** Pings with the short-timeout client; the stream of container exits is the watch: it ends when the engine goes. */
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
        return exits.open();
      }
    };
  }

  @Override
  public Future<Void> shutdown() {
    // runs still here were not drained in time: stop them, and let calls in flight finish (bounded) so
    // nothing they create outlives the client
    List<Future<?>> ending = new ArrayList<>();
    // a copy: detach() fails the run's wait, whose handler removes the run from the map at once
    for (ContainerRun run : List.copyOf(running.values())) {
      if (settings.isPreserveTasksOnShutdown()) {
        run.detach(); // the lifecycle left them running: the next worker process adopts them
      } else {
        ending.add(run.abandon());
      }
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
    if (exits != null) {
      exits.close();
    }
    close(probeClient, "Docker probe client");
    probeClient = null;
    close(docker, "Docker client");
    docker = null;
    if (streams != null) {
      streams.close();
      streams = null;
    }
    if (blocking != null) {
      blocking.close();
    }
  }

  private static void close(DockerClient client, String what) {
    if (client == null) {
      return;
    }
    try {
      client.close();
    } catch (IOException e) {
      log.debug("Closing the {}: {}", what, e.getMessage());
    }
  }
}
