package dev.oz.worker.bench;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.command.WaitContainerResultCallback;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.PullResponseItem;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The baseline: what a program talking straight to the engine API does to run the container the worker
 * created (read back with inspect): pull each image under the default policy ({@code always}, falling back to
 * the local image), create, start, follow the output, wait. Removal follows, untimed. The worker reports
 * after reading the output to its end, so the baseline's lifecycle ends when both the wait and the output
 * ended.
 */
final class RawEngine {
  static final String LABEL = "oz.bench.baseline";

  private final DockerClient docker;
  private final String runId;

  RawEngine(DockerClient docker, String runId) {
    this.docker = docker;
    this.runId = runId;
  }

  /** Times of one baseline run, epoch nanos. */
  record Run(String containerId, long began, long pulled, long created, long started, long waitReturned,
      long outputEnded, long outputBytes, long lastOutputAt, long[] marks) {
    long end() {
      return Math.max(waitReturned, outputEnded);
    }
  }

  /**
   * One lifecycle of a copy of {@code worker}'s container; {@code images} are the images the worker needed
   * (task image, then sidecar image), each pulled under the default policy.
   */
  Run run(InspectContainerResponse worker, List<String> images) {
    long began = Bench.now();
    pull(images);
    long pulled = Bench.now();
    var c = worker.getConfig();
    HostConfig host = HostConfig.newHostConfig();
    if (worker.getHostConfig().getBinds() != null) {
      host.withBinds(worker.getHostConfig().getBinds());
    }
    String id = docker.createContainerCmd(c.getImage()).withCmd(c.getCmd()).withEnv(c.getEnv())
        .withWorkingDir(c.getWorkingDir()).withLabels(Map.of(LABEL, runId)).withHostConfig(host).exec().getId();
    long created = Bench.now();
    docker.startContainerCmd(id).exec();
    long started = Bench.now();
    AtomicLong bytes = new AtomicLong();
    AtomicLong lastAt = new AtomicLong();
    long[] marks = new long[BenchControlPlane.MARKS];
    ResultCallback.Adapter<Frame> follow = docker.logContainerCmd(id).withFollowStream(true).withStdOut(true)
        .withStdErr(true).exec(new ResultCallback.Adapter<>() {
          @Override
          public void onNext(Frame f) {
            long now = Bench.now();
            long after = bytes.addAndGet(f.getPayload().length);
            BenchControlPlane.mark(marks, after - f.getPayload().length, after, now);
            lastAt.set(now);
          }
        });
    docker.waitContainerCmd(id).exec(new WaitContainerResultCallback()).awaitStatusCode();
    long waited = Bench.now();
    try {
      follow.awaitCompletion();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    long ended = Bench.now();
    return new Run(id, began, pulled, created, started, waited, ended, bytes.get(), lastAt.get(), marks);
  }

  /** Each image under {@code always}, then {@code if-not-present}: a failed pull falls back to the local image. */
  void pull(List<String> images) {
    for (String image : images) {
      int colon = image.lastIndexOf(':');
      QuietPull pull = docker.pullImageCmd(image.substring(0, colon)).withTag(image.substring(colon + 1))
          .exec(new QuietPull());
      try {
        pull.awaitCompletion();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (pull.failed) {
        docker.inspectImageCmd(image).exec();
      }
    }
  }

  /** A pull whose failure is expected here (no registry): noted, not logged. */
  private static final class QuietPull extends ResultCallback.Adapter<PullResponseItem> {
    volatile boolean failed;

    @Override
    public void onNext(PullResponseItem item) {
      failed |= item.getErrorDetail() != null || item.getError() != null;
    }

    @Override
    public void onError(Throwable error) {
      failed = true;
      try {
        close();
      } catch (java.io.IOException ignored) {
        // closing a failed stream
      }
    }
  }

  void remove(String containerId) {
    try {
      docker.removeContainerCmd(containerId).withForce(true).withRemoveVolumes(true).exec();
    } catch (RuntimeException ignored) {
      // already gone
    }
  }

  /**
   * {@code n} lifecycles at once, one thread each, as a client of the engine would run them: the images are
   * pulled once for the burst (the engine would run {@code n} pulls of one image one after the other).
   */
  List<Run> runConcurrently(int n, InspectContainerResponse worker, List<String> images) throws InterruptedException {
    pull(images);
    List<Run> runs = java.util.Collections.synchronizedList(new ArrayList<>());
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Thread t = new Thread(() -> runs.add(run(worker, List.of())));
      t.start();
      threads.add(t);
    }
    for (Thread t : threads) {
      t.join();
    }
    return runs;
  }

  void removeAll() {
    for (var c : docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(LABEL, runId)).exec()) {
      remove(c.getId());
    }
  }
}
