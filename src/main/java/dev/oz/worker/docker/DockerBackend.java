package dev.oz.worker.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.logs.TaskOutput;
import dev.oz.worker.task.CancelReason;
import dev.oz.worker.task.TaskBackend;
import dev.oz.worker.task.TaskOutcome;
import dev.oz.worker.task.TaskSpec;
import io.vertx.core.Context;
import io.vertx.core.Future;
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

  private final Vertx vertx;
  private final Context context;
  private final WorkerOptions options;
  private final Map<String, String> env;
  private final Map<String, ContainerRun> running = new HashMap<>();
  private DockerClient docker;
  private Blocking blocking;
  private DockerRuntime runtime;

  private DockerBackend(Vertx vertx, WorkerOptions options, Map<String, String> env) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.options = options;
    this.env = env;
  }

  public static TaskBackend create(Vertx vertx, WorkerOptions options) {
    return new DockerBackend(vertx, options, System.getenv());
  }

  @Override
  public Future<Void> start() {
    String pool = "oz-docker-" + options.getWorkerId() + "-" + UUID.randomUUID().toString().substring(0, 8);
    blocking = new Blocking(vertx.createSharedWorkerExecutor(pool, options.getDocker().getBlockingPoolSize()), context);
    return blocking.run(() -> {
      docker = DockerEngine.connect(options.getDocker(), env);
      String platform = DockerEngine.checkPlatform(docker);
      log.info("Docker daemon is reachable, platform: {}", platform);
      removeLeftovers();
      return platform;
    }).map(platform -> {
      ImagePuller puller = new ImagePuller(docker, blocking, new RegistryAuth(env), platform);
      Map<String, String> helperLabels = Map.of(DockerRuntime.WORKER_LABEL, options.getWorkerId(), "oz.role", "sidecar-copy");
      SidecarVolumes sidecars = new SidecarVolumes(docker, blocking, puller, options.getDocker().getPullPolicy(), helperLabels);
      runtime = new DockerRuntime(vertx, options, docker, blocking, puller, sidecars);
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
  public Future<TaskOutcome> execute(TaskSpec spec, TaskOutput output) {
    ContainerRun run = new ContainerRun(runtime, spec, output);
    running.put(spec.taskId(), run);
    return run.run().onComplete(ar -> running.remove(spec.taskId()));
  }

  @Override
  public Future<Void> cancel(String taskId, CancelReason reason) {
    ContainerRun run = running.get(taskId);
    if (run != null) {
      run.cancel(reason);
    }
    return Future.succeededFuture();
  }

  @Override
  public Future<Void> checkHealth() {
    if (docker == null) {
      return Future.failedFuture("Docker backend not started");
    }
    return blocking.run(() -> {
      docker.pingCmd().exec();
      return null;
    }).<Void>mapEmpty().recover(err -> Future.failedFuture("Docker engine not answering: " + DockerEngine.rootMessage(err)));
  }

  @Override
  public Future<Void> shutdown() {
    List<Future<Void>> abandoned = new ArrayList<>();
    for (ContainerRun run : running.values()) {
      abandoned.add(run.abandon());
    }
    return Future.join(abandoned).<Void>mapEmpty().eventually(() -> {
      release();
      return Future.succeededFuture();
    });
  }

  private void release() {
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
