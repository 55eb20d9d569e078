package dev.oz.worker.kubernetes;

import dev.oz.worker.testing.RecordedOutput;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.backend.CancelReason;
import dev.oz.worker.backend.SetupEvent;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.protocol.FailureReason;
import dev.oz.worker.testing.Waits;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every failure the backend classifies, with the {@code failure_details} it sends, what it does to the Job (expire,
 * skip, refuse), and how it rides out API errors and dropped watches.
 */
class KubernetesFailuresTest extends MockClusterTestBase {

  private static Instant created(Pod pod) {
    return Instant.parse(pod.getMetadata().getCreationTimestamp());
  }

  private static JsonObject k8s(TaskOutcome o) {
    return o.failureDetails().getJsonObject("kubernetes");
  }

  @Test
  void unschedulablePastTheTimeoutExpiresTheJobWithAFencedPatch() throws Exception {
    OnLoop backend = backend("{\"unschedulable_timeout\": \"2s\"}");
    Future<TaskOutcome> outcome = backend.execute(task("t-unsched"), new RecordedOutput());
    Job job = cluster.awaitJob("oz-task-t-unsched-exec-", WAIT);
    Pod pod = cluster.createPod(job, Instant.now());
    cluster.podStatus(pod, s -> {
      s.setConditions(new ArrayList<>(List.of(new PodConditionBuilder().withType("PodScheduled").withStatus("False")
          .withReason("Unschedulable").withMessage("0/3 nodes are available: 3 Insufficient cpu.")
          .withLastTransitionTime(pod.getMetadata().getCreationTimestamp()).build())));
      return s;
    });
    TaskOutcome o = await(outcome);
    assertEquals(FailureReason.UNSCHEDULABLE, o.reason());
    assertEquals("pod " + pod.getMetadata().getName() + " (namespace agents, job " + job.getMetadata().getName()
        + ") is unschedulable. Pod reason: Unschedulable. Pod message: 0/3 nodes are available: 3 Insufficient cpu.",
        o.cause());
    assertEquals(new JsonArray().add(new JsonObject().put("type", "PodScheduled").put("status", "False")
        .put("reason", "Unschedulable").put("last_transition_time", pod.getMetadata().getCreationTimestamp())),
        k8s(o).getJsonObject("pod").getJsonArray("conditions"));
    List<MockCluster.Request> patches = expirePatches(job.getMetadata().getName());
    assertEquals(1, patches.size());
    assertEquals("application/merge-patch+json", patches.get(0).contentType().split(";")[0]);
    JsonObject patch = new JsonObject(patches.get(0).body());
    assertEquals(job.getMetadata().getUid(), patch.getJsonObject("metadata").getString("uid"));
    assertNotNull(patch.getJsonObject("metadata").getString("resourceVersion"));
    assertEquals(new JsonObject().put("activeDeadlineSeconds", 1).put("parallelism", 0).put("suspend", false),
        patch.getJsonObject("spec"));
    Job kept = cluster.job(job.getMetadata().getName());
    assertEquals(List.of(1L, 0), List.of(kept.getSpec().getActiveDeadlineSeconds(), kept.getSpec().getParallelism()),
        "the Job stays for inspection, stopped, until its TTL");
    await(backend.shutdown());
  }

  @Test
  void deadlineExceededSeenOnTheJob() throws Exception {
    OnLoop backend = backend("{}");
    Future<TaskOutcome> outcome = backend.execute(task("t-deadline"), new RecordedOutput());
    Job job = cluster.awaitJob("oz-task-t-deadline-exec-", WAIT);
    cluster.jobCondition(job, "Failed", "DeadlineExceeded", "Job was active longer than specified deadline");
    TaskOutcome o = await(outcome);
    assertEquals(FailureReason.ACTIVE_DEADLINE, o.reason());
    assertEquals("kubernetes Job " + job.getMetadata().getName() + " in namespace agents failed. Job reason: "
        + "DeadlineExceeded. Job message: Job was active longer than specified deadline", o.cause());
    JsonObject k = k8s(o);
    assertEquals("job_watch", k.getString("observation_source"));
    JsonObject condition = k.getJsonObject("job").getJsonArray("conditions").getJsonObject(0);
    assertEquals(List.of("Failed", "True", "DeadlineExceeded"), List.of(condition.getString("type"),
        condition.getString("status"), condition.getString("reason")));
    assertTrue(expirePatches(job.getMetadata().getName()).isEmpty(), "a failed Job needs no expiry");
    await(backend.shutdown());
  }

  @Test
  void evictionWithItsEventsNewestFirst() throws Exception {
    OnLoop backend = backend("{}");
    Future<TaskOutcome> outcome = backend.execute(task("t-evict"), new RecordedOutput());
    Job job = cluster.awaitJob("oz-task-t-evict-exec-", WAIT);
    Pod pod = cluster.createPod(job, Instant.now());
    Instant t = created(pod);
    cluster.event("Pod", pod.getMetadata().getName(), pod.getMetadata().getUid(), "Warning", "Evicted",
        "The node was low on resource: memory.", t.plusSeconds(20), t.plusSeconds(20), 1);
    cluster.event("Pod", pod.getMetadata().getName(), pod.getMetadata().getUid(), "Normal", "Killing",
        "Stopping container task", t.plusSeconds(21), t.plusSeconds(21), 1);
    cluster.event("Pod", pod.getMetadata().getName(), pod.getMetadata().getUid(), "Normal", "Pulled", "pulled",
        t.plusSeconds(5), t.plusSeconds(5), 1);
    cluster.podStatus(pod, s -> {
      s.setPhase("Failed");
      s.setReason("Evicted");
      s.setMessage("The node was low on resource: memory.");
      return s;
    });
    TaskOutcome o = await(outcome);
    assertEquals(FailureReason.EVICTED, o.reason());
    assertEquals("pod " + pod.getMetadata().getName() + " (namespace agents, job " + job.getMetadata().getName()
        + ") failed. Pod phase: Failed. Pod reason: Evicted. Pod message: The node was low on resource: memory.", o.cause());
    assertEquals(new JsonArray()
        .add(new JsonObject().put("type", "Normal").put("reason", "Killing").put("count", 1)
            .put("first_observed_at", t.plusSeconds(21).toString()).put("last_observed_at", t.plusSeconds(21).toString()))
        .add(new JsonObject().put("type", "Warning").put("reason", "Evicted").put("count", 1)
            .put("first_observed_at", t.plusSeconds(20).toString()).put("last_observed_at", t.plusSeconds(20).toString())),
        k8s(o).getJsonArray("events"), "Warning and Killing only, newest first, no messages");
    assertEquals(new JsonObject().put("name", pod.getMetadata().getName()).put("uid", pod.getMetadata().getUid())
        .put("phase", "Failed").put("reason", "Evicted"), k8s(o).getJsonObject("pod"));
    await(backend.shutdown());
  }

  @Test
  void failedSetupContainerIsAnInitContainerFailure() throws Exception {
    OnLoop backend = backend("{\"setup_command\": \"make setup\"}");
    RecordedOutput out = new RecordedOutput();
    Future<TaskOutcome> outcome = backend.execute(task("t-setup"), out);
    Job job = cluster.awaitJob("oz-task-t-setup-exec-", WAIT);
    Pod pod = cluster.createPod(job, Instant.now());
    Instant t = created(pod);
    cluster.podStatus(pod, s -> {
      s.setPhase("Failed");
      s.setInitContainerStatuses(MockCluster.list(
          MockCluster.terminated("copy-sidecar-0", 0, "Completed", t.plusSeconds(1), t.plusSeconds(2)),
          MockCluster.terminated("setup", 2, "Error", t.plusSeconds(2), t.plusSeconds(7))));
      return s;
    });
    TaskOutcome o = await(outcome);
    assertEquals(FailureReason.INIT_CONTAINER, o.reason());
    assertEquals(2, o.exitCode());
    assertEquals("init container setup in pod " + pod.getMetadata().getName() + " (namespace agents, job "
        + job.getMetadata().getName() + ") exited with code 2. Pod phase: Failed. Pod reason: Error", o.cause());
    assertEquals(new JsonObject().put("kind", "init").put("name", "setup").put("state", "terminated")
        .put("termination_reason", "Error").put("raw_exit_code", 2).put("normalized_exit_code", 2)
        .put("started_at", t.plusSeconds(2).toString()).put("finished_at", t.plusSeconds(7).toString()),
        k8s(o).getJsonObject("container"));
    assertTrue(out.events.contains(new SetupEvent(SetupEvent.SETUP_COMMAND, t.plusSeconds(2), t.plusSeconds(7), true)),
        out.events.toString());
    assertTrue(expirePatches(job.getMetadata().getName()).isEmpty(), "every pod of the Job ended: nothing to expire");
    await(backend.shutdown());
  }

  @Test
  void restartableSidecarExitDoesNotFailTheTask() throws Exception {
    OnLoop backend = backend("""
        {"pod_template": {"initContainers": [{"name": "proxy", "image": "proxy:1", "restartPolicy": "Always"}]}}""");
    Future<TaskOutcome> outcome = backend.execute(task("t-sidecar"), new RecordedOutput());
    Job job = cluster.awaitJob("oz-task-t-sidecar-exec-", WAIT);
    Pod pod = cluster.createPod(job, Instant.now());
    Instant t = created(pod);
    cluster.podStatus(pod, s -> {
      s.setPhase("Succeeded");
      s.setInitContainerStatuses(MockCluster.list(MockCluster.terminated("proxy", 143, "Error", t, t.plusSeconds(30))));
      s.setContainerStatuses(MockCluster.list(MockCluster.terminated("task", 0, "Completed", t.plusSeconds(1),
          t.plusSeconds(29))));
      return s;
    });
    cluster.jobCondition(job, "Complete", null, null);
    assertEquals(TaskOutcome.succeeded(), await(outcome));
    await(backend.shutdown());
  }

  @Test
  void failedMountAfterItsGrace() throws Exception {
    OnLoop backend = backend("{\"volume_mount_timeout\": \"1s\"}");
    Future<TaskOutcome> outcome = backend.execute(task("t-mount"), new RecordedOutput());
    Job job = cluster.awaitJob("oz-task-t-mount-exec-", WAIT);
    Pod pod = cluster.createPod(job, Instant.now());
    Instant now = Instant.now();
    cluster.event("Pod", pod.getMetadata().getName(), pod.getMetadata().getUid(), "Warning", "FailedMount",
        "MountVolume.SetUp failed for volume \"cfg\" : configmap \"cfg\" not found", now.minusSeconds(30), now, 4);
    cluster.podStatus(pod, s -> {
      s.setPhase("Pending");
      s.setConditions(new ArrayList<>(List.of(new PodConditionBuilder().withType("PodScheduled").withStatus("True")
          .withLastTransitionTime(pod.getMetadata().getCreationTimestamp()).build())));
      return s;
    });
    TaskOutcome o = await(outcome);
    assertEquals(FailureReason.VOLUME_MOUNT, o.reason());
    assertEquals("pod " + pod.getMetadata().getName() + " (namespace agents, job " + job.getMetadata().getName()
        + ") failed to mount a volume. Kubernetes event reason: FailedMount. Kubernetes event message: "
        + "MountVolume.SetUp failed for volume \"cfg\" : configmap \"cfg\" not found", o.cause());
    assertEquals(4, k8s(o).getJsonArray("events").getJsonObject(0).getInteger("count"));
    await(backend.shutdown());
  }

  @Test
  void serverErrorsAndADroppedWatchDoNotFailTheTask() throws Exception {
    OnLoop backend = backend("{\"safety_poll_interval\": \"300ms\"}");
    Future<TaskOutcome> outcome = backend.execute(task("t-flaky"), new RecordedOutput());
    Job job = cluster.awaitJob("oz-task-t-flaky-exec-", WAIT);
    Pod pod = runningPod(job);
    cluster.fail("GET", "/apis/batch/v1/namespaces/agents/jobs/" + job.getMetadata().getName(), 503, 3);
    cluster.fail("GET", "/api/v1/namespaces/agents/pods?labelSelector", 503, 2);
    Waits.until(() -> cluster.faultsPending() == 0, WAIT, () -> cluster.faultsPending() + " injected failures not served");
    assertTrue(cluster.dropWatches() >= 2, "the Job and pod watches were open");
    String jobWatch = "fieldSelector=metadata.name%3D" + job.getMetadata().getName();
    long end = System.nanoTime() + WAIT.toNanos();
    while (requests("GET", jobWatch).stream().filter(r -> r.path().contains("watch=true")).count() < 2
        && System.nanoTime() < end) {
      Thread.sleep(50);
    }
    assertTrue(!outcome.isComplete(), "still running");
    Instant t = created(pod);
    cluster.podStatus(pod, s -> {
      s.setPhase("Succeeded");
      s.setContainerStatuses(MockCluster.list(MockCluster.terminated("task", 0, "Completed", t, t.plusSeconds(3))));
      return s;
    });
    cluster.jobCondition(job, "Complete", null, null);
    assertEquals(TaskOutcome.succeeded(), await(outcome));
    List<MockCluster.Request> jobWatches = requests("GET", jobWatch)
        .stream().filter(r -> r.path().contains("watch=true")).toList();
    assertTrue(jobWatches.size() >= 2, "the Job watch was reopened");
    assertTrue(jobWatches.get(jobWatches.size() - 1).path().contains("resourceVersion="),
        "from the last version it delivered: " + jobWatches.get(jobWatches.size() - 1).path());
    await(backend.shutdown());
  }

  @Test
  void aReplacedJobIsNeitherExpiredNorDeleted() throws Exception {
    OnLoop backend = backend("{}");
    Future<TaskOutcome> outcome = backend.execute(task("t-replaced"), new RecordedOutput());
    Job job = cluster.awaitJob("oz-task-t-replaced-exec-", WAIT);
    runningPod(job);
    Job other = new JobBuilder(job).editMetadata().withUid(null).withResourceVersion(null)
        .addToLabels(Labels.EXECUTION_HASH, Labels.hash("another-execution")).endMetadata().withStatus(null).build();
    cluster.client().batch().v1().jobs().inNamespace(MockCluster.NAMESPACE).withName(job.getMetadata().getName()).delete();
    Thread.sleep(300);
    cluster.client().batch().v1().jobs().inNamespace(MockCluster.NAMESPACE).resource(other).create();
    TaskOutcome o = await(outcome);
    assertEquals(FailureReason.JOB_WATCH, o.reason());
    assertTrue(o.cause().startsWith("kubernetes Job " + job.getMetadata().getName() + " was deleted while the task was running"),
        o.cause());
    Job replacement = cluster.job(job.getMetadata().getName());
    assertNull(replacement.getSpec().getActiveDeadlineSeconds() == 28800 ? null : "changed", "the other execution's Job is untouched");
    assertTrue(expirePatches(job.getMetadata().getName()).isEmpty());
    assertEquals(null, replacement.getMetadata().getAnnotations().get(TaskJobs.OUTCOME_ANNOTATION),
        "nor marked");
    await(backend.cancel("t-replaced", CancelReason.USER));
    assertTrue(requests("DELETE", "/jobs/oz-task-t-replaced").isEmpty());
    await(backend.shutdown());
  }

  @Test
  void cancelLeavesAnotherExecutionsJobAlone() throws Exception {
    OnLoop backend = backend("{}");
    Future<TaskOutcome> outcome = backend.execute(task("t-other"), new RecordedOutput());
    Job job = cluster.awaitJob("oz-task-t-other-exec-", WAIT);
    Job current = cluster.job(job.getMetadata().getName());
    current.getMetadata().getLabels().put(Labels.EXECUTION_HASH, Labels.hash("exec-someone-else"));
    cluster.client().batch().v1().jobs().inNamespace(MockCluster.NAMESPACE).resource(current).update();
    await(backend.cancel("t-other", CancelReason.USER));
    assertEquals(TaskOutcome.Status.CANCELLED, await(outcome).status());
    assertTrue(requests("DELETE", "/jobs/" + job.getMetadata().getName()).isEmpty());
    assertNotNull(cluster.job(job.getMetadata().getName()));
    await(backend.shutdown());
  }

  @Test
  void atMost64ContainerLogsAreFollowed() throws Exception {
    OnLoop backend = backend("{}");
    RecordedOutput out = new RecordedOutput();
    Future<TaskOutcome> outcome = backend.execute(task("t-many"), out);
    Job job = cluster.awaitJob("oz-task-t-many-exec-", WAIT);
    Pod pod = cluster.createPod(job, Instant.now());
    Instant t = created(pod);
    List<ContainerStatus> statuses = new ArrayList<>();
    for (int i = 0; i < 70; i++) {
      statuses.add(MockCluster.running("c" + i, t));
      cluster.log(pod, "c" + i, "line " + i + "\n");
    }
    cluster.podStatus(pod, s -> {
      s.setPhase("Running");
      s.setContainerStatuses(statuses);
      return s;
    });
    Waits.until(() -> requests("GET", "/log?").size() >= 64, WAIT, () -> requests("GET", "/log?").size() + " followed");
    cluster.jobCondition(job, "Complete", null, null);
    assertEquals(TaskOutcome.succeeded(), await(outcome));
    assertEquals(64, requests("GET", "/log?").size(), "no more once the task has ended");
    assertEquals(64, out.text().lines().count());
    assertTrue(out.text().contains("[c0] line 0\n"), "other containers' lines carry their name");
    await(backend.shutdown());
  }

  @Test
  void cleanupOffKeepsSuccessfulJobsWithoutTtl() throws Exception {
    OnLoop backend = backend("{}", new WorkerOptions().setWorkerId("worker-a").setApiKey("key").setCleanup(false));
    Future<TaskOutcome> outcome = backend.execute(task("t-keepall"), new RecordedOutput());
    Job job = cluster.awaitJob("oz-task-t-keepall-exec-", WAIT);
    assertNull(job.getSpec().getTtlSecondsAfterFinished());
    cluster.jobCondition(job, "Complete", null, null);
    assertEquals(TaskOutcome.succeeded(), await(outcome));
    assertNotNull(cluster.job(job.getMetadata().getName()));
    await(backend.shutdown());
  }
}
