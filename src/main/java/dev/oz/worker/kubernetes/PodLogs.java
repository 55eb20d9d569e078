package dev.oz.worker.kubernetes;

import dev.oz.worker.backend.OutputOrigin;
import dev.oz.worker.backend.StdStream;
import dev.oz.worker.backend.TaskOutput;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A task pod's output into the task's output sink: one follow stream per (pod uid, container), init containers
 * included, once the container runs or has ended; at most 64 per task. Lines of the task container pass as they are;
 * other containers' lines carry a {@code [name] } prefix, and a container's lines are never interleaved mid-line with
 * another's. Bytes arrive on HTTP client threads: the sink is thread-safe and never blocks.
 */
final class PodLogs {
  private static final Logger log = LoggerFactory.getLogger(PodLogs.class);
  static final int MAX_STREAMS = 64;

  private final KubeApi api;
  private final TaskOutput output;
  private final String taskId;
  private final Set<String> followed = new HashSet<>();
  private final List<Future<Void>> streams = new ArrayList<>();
  private final List<Runnable> cancels = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final AtomicBoolean stopped = new AtomicBoolean();
  private String sinceTime;

  PodLogs(KubeApi api, TaskOutput output, String taskId) {
    this.api = api;
    this.output = output;
    this.taskId = taskId;
  }

  /** Only output from {@code time} on (an adopted task: its earlier output was streamed by the earlier process). */
  void since(String time) {
    this.sinceTime = time;
  }

  /** Starts following each container of this pod snapshot that runs or ran and is not followed yet. */
  void observe(Pod pod) {
    if (!output.wantsOutput() || stopped.get() || pod.getStatus() == null) {
      return;
    }
    List<ContainerStatus> statuses = new ArrayList<>();
    if (pod.getStatus().getInitContainerStatuses() != null) {
      statuses.addAll(pod.getStatus().getInitContainerStatuses());
    }
    if (pod.getStatus().getContainerStatuses() != null) {
      statuses.addAll(pod.getStatus().getContainerStatuses());
    }
    for (ContainerStatus s : statuses) {
      if (s.getState() == null || (s.getState().getRunning() == null && s.getState().getTerminated() == null)) {
        continue;
      }
      String key = pod.getMetadata().getUid() + "/" + s.getName();
      if (followed.contains(key) || followed.size() >= MAX_STREAMS) {
        continue;
      }
      followed.add(key);
      Lines lines = new Lines(TaskJobs.TASK_CONTAINER.equals(s.getName()) ? "" : "[" + s.getName() + "] ",
          OutputOrigin.pod(pod.getMetadata().getName(), s.getName()));
      streams.add(api.followLog(pod.getMetadata().getName(), s.getName(), sinceTime, lines::accept, stopped::get,
          cancel -> {
            cancels.add(cancel);
            if (stopped.get()) {
              cancel.run();
            }
          })
          .onComplete(ar -> {
            if (ar.failed()) {
              log.atDebug().addKeyValue("task_id", taskId).log("Log stream of {}/{} ended: {}",
                  pod.getMetadata().getName(), s.getName(), ar.cause().getMessage());
            }
            lines.flush();
          }));
    }
  }

  /** How many containers are followed (the cap is {@link #MAX_STREAMS}). */
  int followedCount() {
    return followed.size();
  }

  /** Waits (at most {@code ms}) for the streams to end by themselves, then stops the rest and ends the output. */
  Future<Void> finish(Vertx vertx, long ms) {
    Future<Void> all = Future.join(new ArrayList<>(streams)).mapEmpty();
    return dev.oz.worker.bus.Deadline.atMost(vertx, all, ms, () -> stop()).onComplete(ar -> {
      stop();
      output.end();
    });
  }

  /** Stops following without ending the output (a worker shutdown leaves the task running). */
  void stop() {
    stopped.set(true);
    cancels.forEach(Runnable::run);
    cancels.clear();
  }

  /** One container's bytes, cut into whole lines before they reach the shared sink. */
  private final class Lines {
    private final byte[] prefix;
    private final OutputOrigin origin;
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();

    Lines(String prefix, OutputOrigin origin) {
      this.prefix = prefix.getBytes(StandardCharsets.UTF_8);
      this.origin = origin;
    }

    synchronized void accept(ByteBuffer buffer) {
      while (buffer.hasRemaining()) {
        byte b = buffer.get();
        partial.write(b);
        if (b == '\n') {
          emit();
        }
      }
    }

    /** The last line of a container that ended without a newline, as it is. */
    synchronized void flush() {
      if (partial.size() > 0) {
        emit();
      }
    }

    private void emit() {
      byte[] line = partial.toByteArray();
      partial.reset();
      byte[] out = line;
      if (prefix.length > 0) {
        out = new byte[prefix.length + line.length];
        System.arraycopy(prefix, 0, out, 0, prefix.length);
        System.arraycopy(line, 0, out, prefix.length, line.length);
      }
      if (!output.write(origin, StdStream.STDOUT, out, 0, out.length)) {
        stopped.set(true); // the per-task cap: stop reading
      }
    }
  }
}
