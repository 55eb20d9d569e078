package dev.oz.worker.kubernetes;

import dev.oz.worker.protocol.FailureReason;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStateWaiting;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Why a task's pod or Job failed, classified as the Go worker does (its failure reasons, messages and exit codes):
 * eviction, init and task container exits (restartable native sidecars ignored), image pulls, unschedulable past
 * {@code unschedulable_timeout}, {@code FailedMount} past {@code volume_mount_timeout}, deadlines. Pure.
 */
final class PodFailures {
  static final Duration MOUNT_EVENT_ACTIVE_WINDOW = Duration.ofMinutes(1);
  private static final Set<String> IMMEDIATE_WAITING = Set.of("CreateContainerConfigError", "CreateContainerError",
      "ErrImagePull", "ImagePullBackOff", "InvalidImageName");

  private final String namespace;
  private final Duration unschedulableTimeout;
  private final Duration volumeMountTimeout;

  PodFailures(String namespace, Duration unschedulableTimeout, Duration volumeMountTimeout) {
    this.namespace = namespace;
    this.unschedulableTimeout = unschedulableTimeout;
    this.volumeMountTimeout = volumeMountTimeout;
  }

  /**
   * A classified failure.
   *
   * @param exitCode normalised (128+signal for signal deaths), 0 when no container exited
   * @param container the failing container's state for {@code failure_details}, null when none
   * @param executionStopped the pod or Job already ended: expiring the Job is not needed
   */
  record Failure(FailureReason reason, String message, int exitCode, FailureDetails.ContainerState container,
      boolean executionStopped) {
  }

  static boolean complete(Job job) {
    return hasCondition(job, "Complete");
  }

  static boolean failed(Job job) {
    return hasCondition(job, "Failed");
  }

  private static boolean hasCondition(Job job, String type) {
    if (job == null || job.getStatus() == null || job.getStatus().getConditions() == null) {
      return false;
    }
    return job.getStatus().getConditions().stream()
        .anyMatch(c -> type.equals(c.getType()) && "True".equals(c.getStatus()));
  }

  /** Whether the pod shows signs of trouble worth listing its events for (mount failures, details). */
  static boolean troubled(Pod pod) {
    String phase = phase(pod);
    return "Pending".equals(phase) || "Failed".equals(phase);
  }

  /**
   * The pod's failure, or null while it is healthy.
   *
   * @param job the task's Job as last seen (null when unknown)
   * @param events the pod's events, or null when not listed (mount failures are then not judged)
   * @param failFast judge mount failures at once (the Job already failed: nothing left to wait for)
   */
  Failure inspect(Pod pod, Job job, List<Event> events, Instant now, boolean failFast) {
    boolean stopped = "Failed".equals(phase(pod)) || complete(job) || failed(job);
    var status = pod.getStatus();
    if (status == null) {
      return null;
    }
    String reason = status.getReason() == null ? "" : status.getReason();
    String message = status.getMessage() == null ? "" : status.getMessage();
    if (reason.equalsIgnoreCase("Evicted") || message.toLowerCase(Locale.ROOT).contains("evict")) {
      return new Failure(FailureReason.EVICTED, podFailed(pod), 0, null, stopped);
    }
    Set<String> restartable = restartableInits(pod);
    for (ContainerStatus s : orEmpty(status.getInitContainerStatuses())) {
      if (s.getName().startsWith(TaskJobs.COPY_PREFIX) && copyFailed(s)) {
        ContainerStateTerminated t = s.getState() != null && s.getState().getTerminated() != null
            ? s.getState().getTerminated() : s.getLastState().getTerminated();
        return new Failure(FailureReason.SIDECAR_PREP, "sidecar copy " + s.getName() + " in " + podContext(pod)
            + " failed; the pod will not retry it", normalizedExit(t),
            FailureDetails.ContainerState.terminated(restartable.contains(s.getName()) ? "sidecar" : "init",
                s.getName(), t), stopped);
      }
      ContainerStateTerminated t = s.getState() == null ? null : s.getState().getTerminated();
      if (t != null && normalizedExit(t) != 0 && !restartable.contains(s.getName())) {
        return new Failure(FailureReason.INIT_CONTAINER, terminated(pod, "init container", s.getName(), t),
            normalizedExit(t), FailureDetails.ContainerState.terminated("init", s.getName(), t), stopped);
      }
      ContainerStateWaiting w = s.getState() == null ? null : s.getState().getWaiting();
      if (w != null && IMMEDIATE_WAITING.contains(w.getReason())) {
        String kind = restartable.contains(s.getName()) ? "sidecar" : "init";
        return new Failure(waitingReason(w.getReason(), true), waiting(pod, "init container", s.getName(), w), 0,
            FailureDetails.ContainerState.waiting(kind, s.getName(), w), stopped);
      }
    }
    for (ContainerStatus s : orEmpty(status.getContainerStatuses())) {
      ContainerStateTerminated t = s.getState() == null ? null : s.getState().getTerminated();
      if (t != null && normalizedExit(t) != 0) {
        FailureReason r = "OOMKilled".equals(t.getReason()) ? FailureReason.CONTAINER_OOM : FailureReason.CONTAINER_EXIT;
        return new Failure(r, terminated(pod, "container", s.getName(), t), normalizedExit(t),
            FailureDetails.ContainerState.terminated("regular", s.getName(), t), stopped);
      }
      ContainerStateWaiting w = s.getState() == null ? null : s.getState().getWaiting();
      if (w != null && IMMEDIATE_WAITING.contains(w.getReason())) {
        return new Failure(waitingReason(w.getReason(), false), waiting(pod, "container", s.getName(), w), 0,
            FailureDetails.ContainerState.waiting("regular", s.getName(), w), stopped);
      }
    }
    PodCondition unschedulable = unschedulable(pod);
    if (unschedulable != null && unschedulableExpired(pod, now)) {
      List<String> details = new ArrayList<>(List.of(podContext(pod) + " is unschedulable"));
      addIf(details, "Pod reason: ", unschedulable.getReason());
      addIf(details, "Pod message: ", unschedulable.getMessage());
      return new Failure(FailureReason.UNSCHEDULABLE, String.join(". ", details), 0, null, stopped);
    }
    if (troubled(pod) && events != null) {
      List<Event> mounts = mountFailures(events);
      if (!mounts.isEmpty() && (failFast || mountExpired(mounts, now))) {
        Event latest = mounts.get(mounts.size() - 1);
        List<String> details = new ArrayList<>(List.of(podContext(pod) + " failed to mount a volume"));
        addIf(details, "Kubernetes event reason: ", latest.getReason());
        addIf(details, "Kubernetes event message: ", latest.getMessage());
        return new Failure(FailureReason.VOLUME_MOUNT, String.join(". ", details), 0, null, stopped);
      }
    }
    if ("Failed".equals(phase(pod))) {
      FailureReason r = (reason + " " + message).toLowerCase(Locale.ROOT).contains("deadline")
          ? FailureReason.ACTIVE_DEADLINE : FailureReason.JOB_FAILED;
      return new Failure(r, podFailed(pod), 0, null, true);
    }
    return null;
  }

  /** When an unschedulable pod's grace ends (to re-check then), or null when it is not unschedulable. */
  Instant unschedulableDeadline(Pod pod) {
    if (unschedulable(pod) == null || unschedulableTimeout.isZero() || created(pod) == null) {
      return null;
    }
    return created(pod).plus(unschedulableTimeout);
  }

  private boolean unschedulableExpired(Pod pod, Instant now) {
    Instant deadline = unschedulableDeadline(pod);
    return deadline != null && !now.isBefore(deadline);
  }

  private static PodCondition unschedulable(Pod pod) {
    for (PodCondition c : orEmpty(pod.getStatus() == null ? null : pod.getStatus().getConditions())) {
      if ("PodScheduled".equals(c.getType()) && "False".equals(c.getStatus()) && "Unschedulable".equals(c.getReason())) {
        return c;
      }
    }
    return null;
  }

  /**
   * Whether mount failures lasted long enough and are still current: the kubelet retries mounts itself, so a
   * failure counts only after {@code volume_mount_timeout} of failures, the last within a minute.
   */
  private boolean mountExpired(List<Event> mounts, Instant now) {
    if (volumeMountTimeout.isZero()) {
      return false;
    }
    Instant first = null;
    Instant last = null;
    for (Event e : mounts) {
      Instant f = Events.firstSeen(e);
      Instant l = Events.lastSeen(e);
      if (f != null && (first == null || f.isBefore(first))) {
        first = f;
      }
      if (l != null && (last == null || l.isAfter(last))) {
        last = l;
      }
    }
    if (first == null && last == null) {
      return true;
    }
    if (last != null && Duration.between(last, now).compareTo(MOUNT_EVENT_ACTIVE_WINDOW) > 0) {
      return false;
    }
    return first != null && Duration.between(first, now).compareTo(volumeMountTimeout) >= 0;
  }

  /** Mount failure events, oldest last occurrence first. */
  static List<Event> mountFailures(List<Event> events) {
    List<Event> out = new ArrayList<>();
    for (Event e : events) {
      if ("FailedMount".equals(e.getReason()) || (e.getMessage() != null && e.getMessage().contains("MountVolume.SetUp failed"))) {
        out.add(e);
      }
    }
    out.sort(Comparator.comparing(e -> Events.lastSeen(e) == null ? Instant.EPOCH : Events.lastSeen(e)));
    return out;
  }

  /** The Job's own failure when no pod explains it (deadline, backoff limit). */
  Failure jobFailure(Job job) {
    List<String> details = new ArrayList<>(List.of("kubernetes Job " + job.getMetadata().getName() + " in namespace "
        + ns(job.getMetadata().getNamespace()) + " failed"));
    FailureReason reason = FailureReason.JOB_FAILED;
    for (JobCondition c : job.getStatus().getConditions()) {
      if (!"Failed".equals(c.getType()) || !"True".equals(c.getStatus())) {
        continue;
      }
      addIf(details, "Job reason: ", c.getReason());
      addIf(details, "Job message: ", c.getMessage());
      String text = ((c.getReason() == null ? "" : c.getReason()) + " " + (c.getMessage() == null ? "" : c.getMessage()))
          .toLowerCase(Locale.ROOT);
      if (text.contains("deadline")) {
        reason = FailureReason.ACTIVE_DEADLINE;
      }
      break;
    }
    return new Failure(reason, String.join(". ", details), 0, null, true);
  }

  /** A copy helper that failed for good: its termination message says so (the readiness copy writes it). */
  private static boolean copyFailed(ContainerStatus s) {
    for (var state : new io.fabric8.kubernetes.api.model.ContainerState[] {s.getState(), s.getLastState()}) {
      if (state != null && state.getTerminated() != null && state.getTerminated().getMessage() != null
          && state.getTerminated().getMessage().strip().equals(TaskJobs.COPY_FAILED_MESSAGE)) {
        return true;
      }
    }
    return false;
  }

  static Set<String> restartableInits(Pod pod) {
    Set<String> out = new HashSet<>();
    if (pod.getSpec() != null) {
      for (Container c : orEmpty(pod.getSpec().getInitContainers())) {
        if ("Always".equals(c.getRestartPolicy())) {
          out.add(c.getName());
        }
      }
    }
    return out;
  }

  /** 128+signal for signal deaths, else the exit code. */
  static int normalizedExit(ContainerStateTerminated t) {
    if (t == null) {
      return 0;
    }
    if (t.getSignal() != null && t.getSignal() > 0) {
      return 128 + t.getSignal();
    }
    return t.getExitCode() == null ? 0 : t.getExitCode();
  }

  private static FailureReason waitingReason(String reason, boolean init) {
    switch (reason) {
      case "ErrImagePull":
      case "ImagePullBackOff":
        return FailureReason.IMAGE_PULL;
      case "InvalidImageName":
        return FailureReason.INVALID_IMAGE;
      case "CreateContainerConfigError":
      case "CreateContainerError":
        return init ? FailureReason.INIT_CONTAINER : FailureReason.CONTAINER_CREATE;
      default:
        return init ? FailureReason.INIT_CONTAINER : FailureReason.CONTAINER_WAIT;
    }
  }

  private String terminated(Pod pod, String kind, String name, ContainerStateTerminated t) {
    int raw = t.getExitCode() == null ? 0 : t.getExitCode();
    String message = kind + " " + name + " in " + podContext(pod) + " exited with code " + raw;
    String signal = signalName(t);
    if (!signal.isEmpty()) {
      message += " (" + signal + ")";
    }
    List<String> details = new ArrayList<>(List.of(message));
    details.addAll(podStatus(pod, t.getReason(), t.getMessage()));
    if ("SIGTERM".equals(signal)) {
      details.add("SIGTERM usually means Kubernetes or the container runtime asked the "
          + ("container".equals(kind) ? "task process" : "setup process") + " to stop; check pod events and node "
          + "activity for eviction, preemption, node drain, activeDeadlineSeconds, or manual deletion.");
    }
    return String.join(". ", details);
  }

  private String waiting(Pod pod, String kind, String name, ContainerStateWaiting w) {
    String what = w.getMessage() == null || w.getMessage().isEmpty() ? w.getReason() : w.getReason() + ": " + w.getMessage();
    List<String> details = new ArrayList<>(List.of(kind + " " + name + " in " + podContext(pod) + " is waiting: " + what));
    details.addAll(podStatus(pod, w.getReason(), w.getMessage()));
    return String.join(". ", details);
  }

  private String podFailed(Pod pod) {
    List<String> details = new ArrayList<>(List.of(podContext(pod) + " failed"));
    details.addAll(podStatus(pod, null, null));
    return String.join(". ", details);
  }

  private static List<String> podStatus(Pod pod, String reason, String message) {
    List<String> details = new ArrayList<>();
    addIf(details, "Pod phase: ", phase(pod));
    addIf(details, "Pod reason: ", reason == null || reason.isEmpty() ? pod.getStatus().getReason() : reason);
    addIf(details, "Pod message: ", message == null || message.isEmpty() ? pod.getStatus().getMessage() : message);
    return details;
  }

  private String podContext(Pod pod) {
    String job = pod.getMetadata().getLabels() == null ? null : pod.getMetadata().getLabels().get(Labels.JOB_NAME);
    return "pod " + pod.getMetadata().getName() + " (namespace " + ns(pod.getMetadata().getNamespace())
        + (job == null || job.isEmpty() ? "" : ", job " + job) + ")";
  }

  private String ns(String objectNamespace) {
    return objectNamespace == null || objectNamespace.isEmpty() ? namespace : objectNamespace;
  }

  static String signalName(ContainerStateTerminated t) {
    int signal = t.getSignal() != null && t.getSignal() > 0 ? t.getSignal()
        : (t.getExitCode() == null ? 0 : t.getExitCode() - 128);
    switch (signal) {
      case 1: return "SIGHUP";
      case 2: return "SIGINT";
      case 3: return "SIGQUIT";
      case 6: return "SIGABRT";
      case 9: return "SIGKILL";
      case 15: return "SIGTERM";
      default: return signal > 0 ? "signal " + signal : "";
    }
  }

  private static void addIf(List<String> details, String label, String value) {
    if (value != null && !value.isEmpty()) {
      details.add(label + value);
    }
  }

  static String phase(Pod pod) {
    return pod.getStatus() == null ? null : pod.getStatus().getPhase();
  }

  static Instant created(Pod pod) {
    return Events.instant(pod.getMetadata().getCreationTimestamp());
  }

  private static <T> List<T> orEmpty(List<T> list) {
    return list == null ? List.of() : list;
  }
}
