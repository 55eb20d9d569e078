package dev.oz.worker.testing;

import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.docker.DockerOptions;
import java.util.function.Consumer;

/** Edits the Docker backend's settings block of a worker's options through the typed options object. */
public final class DockerSettings {
  private DockerSettings() {
  }

  public static WorkerOptions edit(WorkerOptions options, Consumer<DockerOptions> edit) {
    DockerOptions docker = DockerOptions.fromJson(options.getBackendBlock("docker"), options.getHostEnv());
    edit.accept(docker);
    return options.setBackendBlock("docker", docker.toJson());
  }
}
