package dev.oz.worker.kubernetes;

import dev.oz.worker.backend.SetupEvent;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The setup phases of a task pod (GO-WORKER-NEWER.md section 4), each reported once, timed from the timestamps the
 * pod carries (creation, the PodScheduled transition, init container terminations, the task container's start), so
 * late or repeated watch deliveries do not skew them.
 */
final class SetupPhases {
  private final Consumer<SetupEvent> sink;
  private final Set<String> reported = new HashSet<>();

  SetupPhases(Consumer<SetupEvent> sink) {
    this.sink = sink;
  }

  /** Reports the phases this snapshot of the pod completes; safe to call with every snapshot. */
  void observe(Pod pod) {
    if (pod == null || pod.getStatus() == null) {
      return;
    }
    PodCondition scheduled = scheduled(pod);
    if (scheduled != null) {
      report(SetupEvent.POD_SCHEDULE, PodFailures.created(pod), Events.instant(scheduled.getLastTransitionTime()), false);
    }
    sidecarPrep(pod);
    for (ContainerStatus s : list(pod.getStatus().getInitContainerStatuses())) {
      ContainerStateTerminated t = terminated(s);
      if (TaskJobs.SETUP_CONTAINER.equals(s.getName()) && t != null) {
        report(SetupEvent.SETUP_COMMAND, Events.instant(t.getStartedAt()), Events.instant(t.getFinishedAt()),
            PodFailures.normalizedExit(t) != 0);
      }
    }
    taskStart(pod);
  }

  /** First start to last finish of the copy-sidecar init containers; early, as an error, when one failed. */
  private void sidecarPrep(Pod pod) {
    long expected = pod.getSpec() == null ? 0 : list(pod.getSpec().getInitContainers()).stream()
        .map(Container::getName).filter(n -> n.startsWith(TaskJobs.COPY_PREFIX)).count();
    if (expected == 0) {
      return;
    }
    Instant start = null;
    Instant finish = null;
    int ended = 0;
    boolean failed = false;
    for (ContainerStatus s : list(pod.getStatus().getInitContainerStatuses())) {
      ContainerStateTerminated t = terminated(s);
      if (!s.getName().startsWith(TaskJobs.COPY_PREFIX) || t == null) {
        continue;
      }
      ended++;
      Instant started = Events.instant(t.getStartedAt());
      Instant finished = Events.instant(t.getFinishedAt());
      if (started != null && (start == null || started.isBefore(start))) {
        start = started;
      }
      if (finished != null && (finish == null || finished.isAfter(finish))) {
        finish = finished;
      }
      failed |= PodFailures.normalizedExit(t) != 0;
    }
    if (ended > 0 && (failed || ended == expected)) {
      report(SetupEvent.SIDECAR_PREP, start, finish, failed);
    }
  }

  /** From the end of init (else scheduling, else creation) to the task container's start. */
  private void taskStart(Pod pod) {
    Instant started = null;
    for (ContainerStatus s : list(pod.getStatus().getContainerStatuses())) {
      if (!TaskJobs.TASK_CONTAINER.equals(s.getName()) || s.getState() == null) {
        continue;
      }
      if (s.getState().getRunning() != null) {
        started = Events.instant(s.getState().getRunning().getStartedAt());
      } else if (s.getState().getTerminated() != null) {
        started = Events.instant(s.getState().getTerminated().getStartedAt());
      }
    }
    if (started == null) {
      return;
    }
    Instant anchor = null;
    for (ContainerStatus s : list(pod.getStatus().getInitContainerStatuses())) {
      ContainerStateTerminated t = terminated(s);
      Instant finished = t == null ? null : Events.instant(t.getFinishedAt());
      if (finished != null && (anchor == null || finished.isAfter(anchor))) {
        anchor = finished;
      }
    }
    if (anchor == null && scheduled(pod) != null) {
      anchor = Events.instant(scheduled(pod).getLastTransitionTime());
    }
    if (anchor == null) {
      anchor = PodFailures.created(pod);
    }
    report(SetupEvent.CONTAINER_START, anchor, started, false);
  }

  /** Once per phase, and only for a range the timestamps support. */
  void report(String name, Instant start, Instant finish, boolean error) {
    if (reported.contains(name) || start == null || finish == null || finish.isBefore(start)) {
      return;
    }
    reported.add(name);
    sink.accept(new SetupEvent(name, start, finish, error));
  }

  private static PodCondition scheduled(Pod pod) {
    for (PodCondition c : list(pod.getStatus().getConditions())) {
      if ("PodScheduled".equals(c.getType()) && "True".equals(c.getStatus())) {
        return c;
      }
    }
    return null;
  }

  private static ContainerStateTerminated terminated(ContainerStatus s) {
    return s.getState() == null ? null : s.getState().getTerminated();
  }

  private static <T> List<T> list(List<T> l) {
    return l == null ? List.of() : l;
  }
}
