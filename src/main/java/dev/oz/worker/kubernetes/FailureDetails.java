package dev.oz.worker.kubernetes;

import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStateWaiting;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * {@code failure_details.kubernetes} (schema version 1, GO-WORKER-NEWER.md section 10): where the failure was seen,
 * the Job's and pod's conditions, the failed container's state, the newest Warning/Killing events. Bounded, and
 * nothing free-form: no messages, namespace, node, image or logs.
 */
final class FailureDetails {
  static final int SCHEMA_VERSION = 1;
  static final int MAX_REASON_BYTES = 256;
  static final int MAX_CONDITIONS = 16;
  static final int MAX_EVENTS = 10;
  static final int MAX_BYTES = 32 * 1024;
  static final String POD_WATCH = "pod_watch";
  static final String JOB_WATCH = "job_watch";
  static final String SAFETY_POLL = "safety_poll";
  private static final Set<String> JOB_CONDITIONS = Set.of("Complete", "Failed", "FailureTarget");

  private FailureDetails() {
  }

  /** The failed container's state, as classified. */
  record ContainerState(String kind, String name, String state, String waitingReason, String terminationReason,
      Integer rawExitCode, Integer normalizedExitCode, Integer signal, String startedAt, String finishedAt) {

    static ContainerState terminated(String kind, String name, ContainerStateTerminated t) {
      return new ContainerState(kind, name, "terminated", null, t.getReason(), t.getExitCode() == null ? 0 : t.getExitCode(),
          PodFailures.normalizedExit(t), t.getSignal() != null && t.getSignal() > 0 ? t.getSignal() : null,
          t.getStartedAt(), t.getFinishedAt());
    }

    static ContainerState waiting(String kind, String name, ContainerStateWaiting w) {
      return new ContainerState(kind, name, "waiting", w.getReason(), null, null, null, null, null, null);
    }
  }

  /**
   * {@code {"kubernetes": {...}}}.
   *
   * @param source {@link #POD_WATCH}, {@link #JOB_WATCH}, {@link #SAFETY_POLL}, or null when not observed
   */
  static JsonObject of(String source, Instant observedAt, Job job, Pod pod, ContainerState container, List<Event> events) {
    boolean[] truncated = {false};
    JsonObject k = new JsonObject().put("schema_version", SCHEMA_VERSION);
    if (source != null) {
      k.put("observation_source", source);
    }
    k.put("observed_at", Events.format(observedAt));
    if (job != null) {
      k.put("job", job(job, truncated));
    }
    if (pod != null) {
      k.put("pod", pod(pod, truncated));
    }
    if (container != null) {
      k.put("container", container(container, truncated));
    }
    JsonArray ev = events(events == null ? List.of() : events, truncated);
    if (!ev.isEmpty()) {
      k.put("events", ev);
    }
    if (truncated[0]) {
      k.put("truncated", true);
    }
    fit(k);
    return new JsonObject().put("kubernetes", k);
  }

  /** Over the size bound: drop events, then conditions, oldest information first. */
  private static void fit(JsonObject k) {
    while (k.encode().getBytes(StandardCharsets.UTF_8).length > MAX_BYTES) {
      k.put("truncated", true);
      JsonArray events = k.getJsonArray("events");
      if (events != null && !events.isEmpty()) {
        events.remove(events.size() - 1);
        if (events.isEmpty()) {
          k.remove("events");
        }
        continue;
      }
      if (!dropCondition(k.getJsonObject("pod")) && !dropCondition(k.getJsonObject("job"))) {
        return;
      }
    }
  }

  private static boolean dropCondition(JsonObject holder) {
    JsonArray conditions = holder == null ? null : holder.getJsonArray("conditions");
    if (conditions == null || conditions.isEmpty()) {
      return false;
    }
    conditions.remove(conditions.size() - 1);
    if (conditions.isEmpty()) {
      holder.remove("conditions");
    }
    return true;
  }

  private static JsonObject job(Job job, boolean[] truncated) {
    JsonObject j = new JsonObject();
    putString(j, "name", job.getMetadata().getName());
    putString(j, "uid", job.getMetadata().getUid());
    JsonArray conditions = new JsonArray();
    if (job.getStatus() != null && job.getStatus().getConditions() != null) {
      for (JobCondition c : job.getStatus().getConditions()) {
        if (!JOB_CONDITIONS.contains(c.getType())) {
          continue;
        }
        if (conditions.size() == MAX_CONDITIONS) {
          truncated[0] = true;
          break;
        }
        conditions.add(condition(c.getType(), c.getStatus(), c.getReason(), c.getLastTransitionTime(), truncated));
      }
    }
    if (!conditions.isEmpty()) {
      j.put("conditions", conditions);
    }
    return j;
  }

  private static JsonObject pod(Pod pod, boolean[] truncated) {
    JsonObject p = new JsonObject();
    putString(p, "name", pod.getMetadata().getName());
    putString(p, "uid", pod.getMetadata().getUid());
    if (pod.getStatus() != null) {
      putString(p, "phase", pod.getStatus().getPhase());
      putString(p, "reason", bounded(pod.getStatus().getReason(), truncated));
    }
    Instant deleted = Events.instant(pod.getMetadata().getDeletionTimestamp());
    if (deleted != null) {
      p.put("deletion_timestamp", Events.format(deleted));
    }
    JsonArray conditions = new JsonArray();
    if (pod.getStatus() != null && pod.getStatus().getConditions() != null) {
      for (PodCondition c : pod.getStatus().getConditions()) {
        if (conditions.size() == MAX_CONDITIONS) {
          truncated[0] = true;
          break;
        }
        conditions.add(condition(c.getType(), c.getStatus(), c.getReason(), c.getLastTransitionTime(), truncated));
      }
    }
    if (!conditions.isEmpty()) {
      p.put("conditions", conditions);
    }
    return p;
  }

  private static JsonObject condition(String type, String status, String reason, String transition, boolean[] truncated) {
    JsonObject c = new JsonObject();
    putString(c, "type", type);
    putString(c, "status", status);
    putString(c, "reason", bounded(reason, truncated));
    Instant t = Events.instant(transition);
    if (t != null) {
      c.put("last_transition_time", Events.format(t));
    }
    return c;
  }

  private static JsonObject container(ContainerState s, boolean[] truncated) {
    JsonObject c = new JsonObject();
    putString(c, "kind", s.kind());
    putString(c, "name", s.name());
    putString(c, "state", s.state());
    putString(c, "waiting_reason", bounded(s.waitingReason(), truncated));
    putString(c, "termination_reason", bounded(s.terminationReason(), truncated));
    if (s.rawExitCode() != null) {
      c.put("raw_exit_code", s.rawExitCode());
    }
    if (s.normalizedExitCode() != null) {
      c.put("normalized_exit_code", s.normalizedExitCode());
    }
    if (s.signal() != null) {
      c.put("signal", s.signal());
    }
    Instant started = Events.instant(s.startedAt());
    if (started != null) {
      c.put("started_at", Events.format(started));
    }
    Instant finished = Events.instant(s.finishedAt());
    if (finished != null) {
      c.put("finished_at", Events.format(finished));
    }
    return c;
  }

  /** Warning and Killing events, newest first, at most ten. */
  private static JsonArray events(List<Event> events, boolean[] truncated) {
    List<Event> kept = new ArrayList<>();
    for (Event e : events) {
      if ("Warning".equals(e.getType()) || "Killing".equals(e.getReason())) {
        kept.add(e);
      }
    }
    kept.sort(Comparator.comparing((Event e) -> Events.lastSeen(e) == null ? Instant.EPOCH : Events.lastSeen(e)).reversed());
    if (kept.size() > MAX_EVENTS) {
      truncated[0] = true;
      kept = kept.subList(0, MAX_EVENTS);
    }
    JsonArray out = new JsonArray();
    for (Event e : kept) {
      JsonObject o = new JsonObject();
      putString(o, "type", bounded(e.getType(), truncated));
      putString(o, "reason", bounded(e.getReason(), truncated));
      int count = e.getSeries() != null && e.getSeries().getCount() != null ? e.getSeries().getCount()
          : (e.getCount() == null ? 0 : e.getCount());
      if (count != 0) {
        o.put("count", count);
      }
      Instant first = firstObserved(e);
      if (first != null) {
        o.put("first_observed_at", Events.format(first));
      }
      Instant last = Events.lastSeen(e) == null ? null : Events.lastSeen(e);
      if (last != null) {
        o.put("last_observed_at", Events.format(last));
      }
      out.add(o);
    }
    return out;
  }

  /** First timestamp, else event time, else creation (not the last timestamp, unlike mount grace). */
  private static Instant firstObserved(Event e) {
    Instant t = Events.instant(e.getFirstTimestamp());
    if (t == null && e.getEventTime() != null) {
      t = Events.instant(e.getEventTime().getTime());
    }
    return t != null ? t : Events.instant(e.getMetadata() == null ? null : e.getMetadata().getCreationTimestamp());
  }

  private static void putString(JsonObject o, String key, String value) {
    if (value != null && !value.isEmpty()) {
      o.put(key, value);
    }
  }

  /** At most 256 UTF-8 bytes, cut on a character boundary. */
  static String bounded(String value, boolean[] truncated) {
    if (value == null) {
      return null;
    }
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    if (bytes.length <= MAX_REASON_BYTES) {
      return value;
    }
    truncated[0] = true;
    CharsetEncoder encoder = StandardCharsets.UTF_8.newEncoder();
    ByteBuffer out = ByteBuffer.allocate(MAX_REASON_BYTES);
    CharBuffer in = CharBuffer.wrap(value);
    encoder.encode(in, out, true);
    return value.substring(0, in.position());
  }
}
