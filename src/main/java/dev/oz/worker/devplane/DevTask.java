package dev.oz.worker.devplane;

import dev.oz.worker.protocol.Task;
import dev.oz.worker.protocol.TaskAssignment;
import dev.oz.worker.protocol.TaskAssignment.InstanceShape;
import dev.oz.worker.protocol.TaskLog;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** One task of the local control plane, with its streamed output. Touched on the control plane's event loop only. */
final class DevTask {
  /** Output kept per task; beyond it the oldest chunks are forgotten (this is a development tool). */
  static final long MAX_LOG_BYTES = 16L * 1024 * 1024;

  enum State {
    QUEUED, CLAIMED, RUNNING, SUCCEEDED, FAILED, CANCELLED;

    String wire() {
      return name().toLowerCase();
    }

    boolean finished() {
      return this == SUCCEEDED || this == FAILED || this == CANCELLED;
    }
  }

  final String id;
  final String executionId;
  final String title;
  final String prompt;
  final String image;
  final String sidecarImage;
  final Map<String, String> env;
  final InstanceShape shape;
  final Instant createdAt = Instant.now();
  Instant updatedAt = createdAt;
  State state = State.QUEUED;
  String workerId;
  String message;
  String failureReason;
  Integer exitCode;
  boolean offered;
  long nextDispatchNanos;
  final Set<String> rejectedBy = new HashSet<>();
  /** Kept chunks by arrival. */
  final TreeMap<Long, TaskLog> chunks = new TreeMap<>();
  private long nextChunk;
  /** Per stream ({@code stdout}, {@code stderr}), how far the kept bytes reach (chunks with an {@code offset}). */
  private final Map<String, Long> covered = new java.util.HashMap<>();
  /** Numbers of chunks without an offset, since the last claim (a worker that adopts the task numbers from 0 again). */
  private final Set<Long> seqs = new HashSet<>();
  long logBytes;
  long forgottenBytes;
  /** Bytes between positions that never arrived. */
  long missingBytes;
  final List<Runnable> watchers = new ArrayList<>();

  DevTask(String id, String executionId, String title, String prompt, String image, String sidecarImage,
      Map<String, String> env, InstanceShape shape) {
    this.id = id;
    this.executionId = executionId;
    this.title = title;
    this.prompt = prompt;
    this.image = image;
    this.sidecarImage = sidecarImage;
    this.env = env;
    this.shape = shape;
  }

  void setState(State s) {
    state = s;
    updatedAt = Instant.now();
    notifyWatchers();
  }

  /** A worker (again) holds the task: its chunk numbers start over. */
  void claimed() {
    seqs.clear();
  }

  /**
   * Keeps each byte once: by stream position when the chunk has an {@code offset} (a worker resends after a reconnect,
   * or replays the whole output after adopting the task), else by {@code seq}.
   */
  void addChunk(TaskLog c) {
    if (c.offset() == null) {
      if (!seqs.add(c.seq())) {
        return;
      }
    } else {
      long have = covered.getOrDefault(c.stream(), 0L);
      byte[] bytes = c.data().getBytes(java.nio.charset.StandardCharsets.UTF_8);
      if (c.offset() > have) {
        missingBytes += c.offset() - have;
      }
      long skip = Math.max(0, have - c.offset());
      if (skip >= bytes.length && (bytes.length > 0 || c.droppedBytes() == 0)) {
        return;
      }
      covered.put(c.stream(), Math.max(have, c.offset() + bytes.length));
      if (skip > 0) {
        String rest = new String(bytes, (int) skip, bytes.length - (int) skip, java.nio.charset.StandardCharsets.UTF_8);
        c = new TaskLog(c.taskId(), c.executionId(), c.seq(), c.stream(), rest, c.droppedBytes(), c.truncated(),
            c.offset() + skip);
      }
    }
    chunks.put(nextChunk++, c);
    logBytes += c.data().length();
    while (logBytes > MAX_LOG_BYTES && chunks.size() > 1) {
      TaskLog oldest = chunks.pollFirstEntry().getValue();
      logBytes -= oldest.data().length();
      forgottenBytes += oldest.data().length();
    }
    if (state == State.CLAIMED) {
      state = State.RUNNING;
    }
    updatedAt = Instant.now();
    notifyWatchers();
  }

  private void notifyWatchers() {
    for (Runnable w : List.copyOf(watchers)) {
      w.run();
    }
  }

  /** The protocol's task_assignment for this task. */
  TaskAssignment assignment() {
    Task task = new Task(id, title, new Task.TaskDefinition(prompt), createdAt.toString(), updatedAt.toString(),
        new Task.Owner("USER", 0), null, null);
    return new TaskAssignment(id, executionId, task, image, sidecarImage, env, List.of(), List.of(), shape, null);
  }

  JsonObject toJson() {
    JsonObject json = new JsonObject()
        .put("task_id", id)
        .put("title", title)
        .put("state", state.wire())
        .put("prompt", prompt)
        .put("image", image)
        .put("sidecar_image", sidecarImage)
        .put("worker_id", workerId)
        .put("created_at", createdAt.toString())
        .put("updated_at", updatedAt.toString())
        .put("log_bytes", logBytes + forgottenBytes)
        .put("log_missing_bytes", missingBytes);
    if (message != null) {
      json.put("message", message);
    }
    if (failureReason != null) {
      json.put("failure_reason", failureReason);
    }
    if (exitCode != null) {
      json.put("exit_code", exitCode);
    }
    if (!rejectedBy.isEmpty()) {
      json.put("rejected_by", new JsonArray(List.copyOf(new TreeSet<>(rejectedBy))));
    }
    return json;
  }
}
