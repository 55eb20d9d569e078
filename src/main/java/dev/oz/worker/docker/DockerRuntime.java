package dev.oz.worker.docker;

import com.github.dockerjava.api.DockerClient;
import dev.oz.worker.config.WorkerOptions;
import io.vertx.core.Vertx;
import java.util.List;

/** What every container run of one backend shares. */
record DockerRuntime(
    Vertx vertx,
    WorkerOptions options,
    DockerOptions settings,
    DockerClient docker,
    EngineStreams streams,
    ContainerExits exits,
    Blocking blocking,
    ImagePuller puller,
    SidecarVolumes sidecars,
    EngineHealth health) {

  static final String WORKER_LABEL = "oz.worker.id";
  static final String TASK_LABEL = "oz.task.id";
  static final String EXECUTION_LABEL = "oz.execution.id";

  String workerId() {
    return options.getWorkerId();
  }

  /** Secrets for the worker's own log: the API key (task values are added per task). */
  List<String> workerSecrets() {
    return List.of(options.getApiKey());
  }
}
