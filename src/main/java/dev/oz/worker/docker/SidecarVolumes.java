package dev.oz.worker.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectImageResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.Volume;
import dev.oz.worker.config.PullPolicy;
import dev.oz.worker.protocol.FailureReason;
import dev.oz.worker.task.TaskSpec.SidecarMount;
import io.vertx.core.Future;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sidecars: each sidecar image's whole filesystem copied into a named volume that task containers mount.
 * The copy goes container-to-container through the engine's archive API, so the sidecar image needs no
 * shell or tar. A volume counts as filled only once its {@code .ready} marker volume exists, so a copy that
 * failed or was cut off by a crash is never reused; concurrent tasks wanting the same volume share one fill.
 */
final class SidecarVolumes {
  private static final Logger log = LoggerFactory.getLogger(SidecarVolumes.class);
  static final String READY_SUFFIX = ".ready";
  private static final String TARGET = "/oz-sidecar-target";

  private final DockerClient docker;
  private final Blocking blocking;
  private final ImagePuller puller;
  private final List<PullPolicy> pullPolicy;
  private final Map<String, String> labels;
  /** Fills in progress by volume name; touched on the backend's context only. */
  private final Map<String, Future<Void>> filling = new HashMap<>();

  SidecarVolumes(DockerClient docker, Blocking blocking, ImagePuller puller, List<PullPolicy> pullPolicy,
      Map<String, String> labels) {
    this.docker = docker;
    this.blocking = blocking;
    this.puller = puller;
    this.pullPolicy = pullPolicy;
    this.labels = labels;
  }

  /** Checks every sidecar before anything is created; throws {@code sidecar_prep} with the first problem. */
  static void validate(List<SidecarMount> sidecars) {
    Set<String> paths = new HashSet<>();
    for (SidecarMount s : sidecars) {
      if (s.image() == null || s.image().isBlank()) {
        throw new TaskFailure(FailureReason.SIDECAR_PREP, "sidecar for " + describe(s.mountPath()) + " has empty image");
      }
      String path = s.mountPath();
      if (path == null || path.isBlank()) {
        throw new TaskFailure(FailureReason.SIDECAR_PREP, "sidecar " + s.image() + " has empty mount path");
      }
      if (!path.startsWith("/")) {
        throw new TaskFailure(FailureReason.SIDECAR_PREP, "sidecar " + s.image() + " mount path " + path + " is not absolute");
      }
      for (String segment : path.split("/")) {
        if (segment.equals("..")) {
          throw new TaskFailure(FailureReason.SIDECAR_PREP, "sidecar " + s.image() + " mount path " + path + " contains '..'");
        }
      }
      String normalized = path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
      if (!paths.add(normalized.replaceAll("/+", "/"))) {
        throw new TaskFailure(FailureReason.SIDECAR_PREP, "duplicate mount path " + path + " for sidecar " + s.image());
      }
    }
  }

  private static String describe(String path) {
    return path == null || path.isBlank() ? "(no mount path)" : path;
  }

  /** Prepares every sidecar volume, in order; returns the binds ({@code volume:path[:ro]}). */
  Future<List<String>> prepare(List<SidecarMount> sidecars, CancelScope scope) {
    Future<List<String>> chain = Future.succeededFuture(new ArrayList<>());
    for (SidecarMount s : sidecars) {
      chain = chain.compose(binds -> prepare(s, scope).map(volume -> {
        binds.add(volume + ":" + s.mountPath() + (s.readWrite() ? "" : ":ro"));
        return binds;
      }));
    }
    return chain;
  }

  private Future<String> prepare(SidecarMount s, CancelScope scope) {
    log.info("Preparing sidecar: image={}, mount={}", s.image(), s.mountPath());
    return puller.ensure(s.image(), pullPolicy, false, FailureReason.SIDECAR_PREP, scope)
        .compose(image -> {
          String name = volumeName(s.image(), digest(image));
          Future<Void> inProgress = filling.get(name);
          if (inProgress == null) {
            inProgress = blocking.phase(FailureReason.SIDECAR_PREP, "failed to prepare volume for sidecar " + s.image(),
                () -> {
                  ensureFilled(name, s.image());
                  return null;
                });
            filling.put(name, inProgress);
            inProgress.onComplete(ar -> filling.remove(name));
          }
          return inProgress.map(name);
        });
  }

  /** RepoDigests' digest for pulled images, else the image ID (local builds have no repo digest). */
  static String digest(InspectImageResponse image) {
    List<String> repoDigests = image.getRepoDigests();
    if (repoDigests != null && !repoDigests.isEmpty() && repoDigests.get(0).contains("@")) {
      return repoDigests.get(0).substring(repoDigests.get(0).indexOf('@') + 1);
    }
    return image.getId();
  }

  /** The image's short repository name, made volume-safe, then {@code -} and 12 hex digits of its digest. */
  static String volumeName(String image, String digest) {
    String repo = ImageRef.parse(image).familiarName().replaceAll("[^A-Za-z0-9_.-]", "-");
    String[] parts = digest.split(":");
    String hash = parts.length == 2 ? parts[1].substring(0, Math.min(12, parts[1].length())) : digest.replace(':', '-');
    return repo + "-" + hash;
  }

  /** Blocking. */
  private void ensureFilled(String name, String image) {
    boolean exists = volumeExists(name);
    if (exists && volumeExists(name + READY_SUFFIX)) {
      log.debug("Reusing existing volume {} for sidecar {}", name, image);
      return;
    }
    if (exists) {
      log.warn("Sidecar volume {} is incomplete (an earlier copy failed or was interrupted); filling it again", name);
      try {
        docker.removeVolumeCmd(name).exec();
      } catch (RuntimeException e) {
        throw new TaskFailure(FailureReason.SIDECAR_PREP, "failed to remove incomplete sidecar volume " + name + ": "
            + DockerEngine.rootMessage(e), e);
      }
    }
    log.info("Creating new Docker volume: {}", name);
    docker.createVolumeCmd().withName(name).withLabels(Map.of("oz.sidecar.image", image)).exec();
    try {
      copyImageInto(name, image);
      docker.createVolumeCmd().withName(name + READY_SUFFIX).withLabels(Map.of("oz.sidecar.ready-for", name)).exec();
      log.info("Successfully copied sidecar {} into volume {}", image, name);
    } catch (RuntimeException e) {
      try {
        docker.removeVolumeCmd(name).exec();
      } catch (RuntimeException cleanup) {
        log.warn("Failed to clean up volume {} after copy failure: {}", name, cleanup.getMessage());
      }
      throw new TaskFailure(FailureReason.SIDECAR_PREP, "failed to copy sidecar " + image + " to volume: "
          + DockerEngine.rootMessage(e), e);
    }
  }

  private boolean volumeExists(String name) {
    try {
      docker.inspectVolumeCmd(name).exec();
      return true;
    } catch (NotFoundException e) {
      return false;
    }
  }

  /** Copies the image's root filesystem into the volume using two never-started containers. */
  private void copyImageInto(String volume, String image) {
    String source = null;
    String target = null;
    try {
      source = docker.createContainerCmd(image).withCmd("true").withLabels(labels).exec().getId();
      target = docker.createContainerCmd(image).withCmd("true").withLabels(labels)
          .withHostConfig(HostConfig.newHostConfig().withBinds(new Bind(volume, new Volume(TARGET)))).exec().getId();
      try (InputStream tar = docker.copyArchiveFromContainerCmd(source, "/").exec()) {
        docker.copyArchiveToContainerCmd(target).withRemotePath(TARGET).withTarInputStream(tar).exec();
      }
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e.getMessage(), e);
    } finally {
      removeQuietly(source);
      removeQuietly(target);
    }
  }

  private void removeQuietly(String containerId) {
    if (containerId != null) {
      try {
        docker.removeContainerCmd(containerId).withForce(true).exec();
      } catch (RuntimeException e) {
        log.warn("Failed to remove helper container {}: {}", containerId, e.getMessage());
      }
    }
  }
}
