package dev.oz.worker.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.protocol.FailureReason;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Failure classification and {@code failure_details} from pod and Job states, as the Go worker reports them. */
class PodFailuresTest {
  private static final Instant NOW = Instant.parse("2026-09-01T10:10:00Z");
  private final PodFailures failures = new PodFailures("agents", Duration.ofMinutes(10), Duration.ofMinutes(2));

  private static PodBuilder pod(String phase) {
    return new PodBuilder().withNewMetadata().withName("oz-task-r-exec-e-abcde").withNamespace("agents").withUid("pod-uid")
        .withCreationTimestamp("2026-09-01T10:00:00Z").addToLabels("job-name", "oz-task-r-exec-e").endMetadata()
        .withNewSpec().addNewContainer().withName("task").endContainer().endSpec()
        .withNewStatus().withPhase(phase).endStatus();
  }

  private static Job job() {
    return new JobBuilder().withNewMetadata().withName("oz-task-r-exec-e").withUid("job-uid").endMetadata()
        .withNewStatus().endStatus().build();
  }

  @Test
  void oomKilledTaskContainer() {
    Pod pod = pod("Failed").editStatus()
        .addNewCondition().withType("Ready").withStatus("False").withReason("PodCompleted")
        .withLastTransitionTime("2026-09-01T10:05:00Z").endCondition()
        .addNewContainerStatus().withName("task").withNewState().withNewTerminated().withExitCode(137).withReason("OOMKilled")
        .withStartedAt("2026-09-01T10:01:00Z").withFinishedAt("2026-09-01T10:05:00Z").endTerminated().endState()
        .endContainerStatus().endStatus().build();
    PodFailures.Failure f = failures.inspect(pod, job(), List.of(), NOW, false);
    assertEquals(FailureReason.CONTAINER_OOM, f.reason());
    assertEquals(137, f.exitCode());
    assertEquals("container task in pod oz-task-r-exec-e-abcde (namespace agents, job oz-task-r-exec-e) exited with code "
        + "137 (SIGKILL). Pod phase: Failed. Pod reason: OOMKilled", f.message());
    assertTrue(f.executionStopped());
    Event killing = new EventBuilder().withType("Normal").withReason("Killing").withMessage("secret text").withCount(1)
        .withFirstTimestamp("2026-09-01T10:04:59Z").withLastTimestamp("2026-09-01T10:04:59Z").build();
    Event normal = new EventBuilder().withType("Normal").withReason("Pulled").build();
    assertEquals(new JsonObject("""
        {"kubernetes": {"schema_version": 1, "observation_source": "pod_watch", "observed_at": "2026-09-01T10:10:00.5Z",
          "job": {"name": "oz-task-r-exec-e", "uid": "job-uid"},
          "pod": {"name": "oz-task-r-exec-e-abcde", "uid": "pod-uid", "phase": "Failed",
                  "conditions": [{"type": "Ready", "status": "False", "reason": "PodCompleted",
                                  "last_transition_time": "2026-09-01T10:05:00Z"}]},
          "container": {"kind": "regular", "name": "task", "state": "terminated", "termination_reason": "OOMKilled",
                        "raw_exit_code": 137, "normalized_exit_code": 137, "started_at": "2026-09-01T10:01:00Z",
                        "finished_at": "2026-09-01T10:05:00Z"},
          "events": [{"type": "Normal", "reason": "Killing", "count": 1, "first_observed_at": "2026-09-01T10:04:59Z",
                      "last_observed_at": "2026-09-01T10:04:59Z"}]}}"""),
        FailureDetails.of(FailureDetails.POD_WATCH, NOW.plusMillis(500), job(), pod, f.container(), List.of(normal, killing)));
  }

  @Test
  void unschedulableOnlyAfterTheTimeout() {
    Pod pod = pod("Pending").editStatus().addNewCondition().withType("PodScheduled").withStatus("False")
        .withReason("Unschedulable").withMessage("0/3 nodes are available").endCondition().endStatus().build();
    assertNull(failures.inspect(pod, job(), List.of(), Instant.parse("2026-09-01T10:09:59Z"), false));
    assertEquals(Instant.parse("2026-09-01T10:10:00Z"), failures.unschedulableDeadline(pod));
    PodFailures.Failure f = failures.inspect(pod, job(), List.of(), NOW, false);
    assertEquals(FailureReason.UNSCHEDULABLE, f.reason());
    assertEquals("pod oz-task-r-exec-e-abcde (namespace agents, job oz-task-r-exec-e) is unschedulable. "
        + "Pod reason: Unschedulable. Pod message: 0/3 nodes are available", f.message());
    PodFailures never = new PodFailures("agents", Duration.ZERO, Duration.ZERO);
    assertNull(never.inspect(pod, job(), List.of(), NOW.plus(Duration.ofDays(1)), false), "0s disables it");
  }

  @Test
  void failedMountsAreToleratedForTheTimeoutWhileCurrent() {
    Pod pod = pod("Pending").build();
    Event mount = new EventBuilder().withType("Warning").withReason("FailedMount")
        .withMessage("MountVolume.SetUp failed for volume \"cfg\"").withFirstTimestamp("2026-09-01T10:08:30Z")
        .withLastTimestamp("2026-09-01T10:09:50Z").build();
    assertNull(failures.inspect(pod, job(), List.of(mount), NOW, false), "failing for 90 s of 2 min");
    Event longer = new EventBuilder(mount).withFirstTimestamp("2026-09-01T10:07:00Z").build();
    assertEquals(FailureReason.VOLUME_MOUNT, failures.inspect(pod, job(), List.of(longer), NOW, false).reason());
    Event stale = new EventBuilder(longer).withLastTimestamp("2026-09-01T10:08:00Z").build();
    assertNull(failures.inspect(pod, job(), List.of(stale), NOW, false), "silent for over a minute: recovered");
    assertEquals(FailureReason.VOLUME_MOUNT, failures.inspect(pod, job(), List.of(mount), NOW, true).reason(),
        "a failed Job has nothing left to wait for");
  }

  @Test
  void restartableSidecarExitsAreIgnoredButNotItsPullFailure() {
    Pod pod = pod("Running").editSpec().addNewInitContainer().withName("proxy").withRestartPolicy("Always").endInitContainer()
        .endSpec().editStatus().addNewInitContainerStatus().withName("proxy").withNewState().withNewTerminated()
        .withExitCode(143).endTerminated().endState().endInitContainerStatus().endStatus().build();
    assertNull(failures.inspect(pod, job(), null, NOW, false));
    Pod pulling = pod("Pending").editSpec().addNewInitContainer().withName("proxy").withRestartPolicy("Always")
        .endInitContainer().endSpec().editStatus().addNewInitContainerStatus().withName("proxy").withNewState()
        .withNewWaiting().withReason("ImagePullBackOff").withMessage("Back-off pulling image").endWaiting().endState()
        .endInitContainerStatus().endStatus().build();
    PodFailures.Failure f = failures.inspect(pulling, job(), null, NOW, false);
    assertEquals(FailureReason.IMAGE_PULL, f.reason());
    assertEquals("sidecar", f.container().kind());
  }

  @Test
  void imagePullBackOffDetails() {
    Pod pod = pod("Pending").editStatus().addNewContainerStatus().withName("task").withNewState().withNewWaiting()
        .withReason("ImagePullBackOff").withMessage("Back-off pulling image \"corp/dev:9\"").endWaiting().endState()
        .endContainerStatus().endStatus().build();
    PodFailures.Failure f = failures.inspect(pod, job(), null, NOW, false);
    assertEquals(FailureReason.IMAGE_PULL, f.reason());
    assertEquals(0, f.exitCode());
    assertEquals(new JsonObject("""
        {"kubernetes": {"schema_version": 1, "observation_source": "safety_poll", "observed_at": "2026-09-01T10:10:00Z",
          "pod": {"name": "oz-task-r-exec-e-abcde", "uid": "pod-uid", "phase": "Pending"},
          "container": {"kind": "regular", "name": "task", "state": "waiting", "waiting_reason": "ImagePullBackOff"}}}"""),
        FailureDetails.of(FailureDetails.SAFETY_POLL, NOW, null, pod, f.container(), List.of()),
        "no image name, no message: only the structured state");
  }

  @Test
  void evictionAndDeadline() {
    Pod evicted = pod("Failed").editStatus().withReason("Evicted").withMessage("The node was low on resource: memory.")
        .endStatus().build();
    assertEquals(FailureReason.EVICTED, failures.inspect(evicted, job(), null, NOW, false).reason());
    Pod deadline = pod("Failed").editStatus().withReason("DeadlineExceeded")
        .withMessage("Pod was active on the node longer than the specified deadline").endStatus().build();
    assertEquals(FailureReason.ACTIVE_DEADLINE, failures.inspect(deadline, job(), null, NOW, false).reason());
    Job job = new JobBuilder(job()).editStatus().addNewCondition().withType("Failed").withStatus("True")
        .withReason("DeadlineExceeded").withMessage("Job was active longer than specified deadline").endCondition()
        .endStatus().build();
    PodFailures.Failure f = failures.jobFailure(job);
    assertEquals(FailureReason.ACTIVE_DEADLINE, f.reason());
    assertEquals("kubernetes Job oz-task-r-exec-e in namespace agents failed. Job reason: DeadlineExceeded. "
        + "Job message: Job was active longer than specified deadline", f.message());
  }

  @Test
  void detailsAreBounded() {
    String longReason = "é".repeat(200);
    PodBuilder b = pod("Failed").editStatus().withReason(longReason).endStatus();
    for (int i = 0; i < 20; i++) {
      b.editStatus().addNewCondition().withType("C" + i).withStatus("True").endCondition().endStatus();
    }
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      events.add(new EventBuilder().withType("Warning").withReason("R" + i)
          .withLastTimestamp("2026-09-01T10:0" + (i % 10) + ":00Z").build());
    }
    JsonObject k = FailureDetails.of(null, NOW, null, b.build(), null, events).getJsonObject("kubernetes");
    assertEquals(128, k.getJsonObject("pod").getString("reason").length(), "256 bytes of two-byte characters");
    assertEquals(16, k.getJsonObject("pod").getJsonArray("conditions").size());
    assertEquals(10, k.getJsonArray("events").size());
    assertEquals(true, k.getBoolean("truncated"));
    assertEquals(null, k.getString("observation_source"));
  }
}
