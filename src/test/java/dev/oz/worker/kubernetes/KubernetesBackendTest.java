package dev.oz.worker.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.backend.BackendContext;
import dev.oz.worker.backend.CancelReason;
import dev.oz.worker.backend.SetupEvent;
import dev.oz.worker.backend.StdStream;
import dev.oz.worker.backend.TaskBackend;
import dev.oz.worker.backend.TaskDescription;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.backend.TaskOutput;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.protocol.FailureReason;
import dev.oz.worker.testing.LogCapture;
import dev.oz.worker.testing.RecordedOutput;
import dev.oz.worker.testing.TestVertx;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Success, OOM, cancel and shutdown end to end at the backend, against the mock API server. */
class KubernetesBackendTest extends MockClusterTestBase {

  @Test
  void successfulTaskStreamsItsLogSendsSetupEventsAndDeletesItsJob() throws Exception {
    OnLoop backend = backend("{}");
    RecordedOutput out = new RecordedOutput();
    Future<TaskOutcome> outcome = backend.execute(task("t-ok"), out);
    Job job = cluster.awaitJob("oz-task-t-ok-exec-", WAIT);
    Pod pod = cluster.createPod(job, Instant.now());
    Instant created = Instant.parse(pod.getMetadata().getCreationTimestamp());
    cluster.log(pod, "task", "hello from the pod\nlast line without newline");
    cluster.log(pod, "copy-sidecar-0", "");
    pod = running(pod, created);
    cluster.podStatus(pod, s -> {
      s.setPhase("Succeeded");
      s.setContainerStatuses(MockCluster.list(MockCluster.terminated("task", 0, "Completed", created.plusSeconds(9),
          created.plusSeconds(30))));
      return s;
    });
    cluster.jobCondition(job, "Complete", null, null);
    assertEquals(TaskOutcome.succeeded(), await(outcome));
    assertEquals("hello from the pod\nlast line without newline", out.text());
    assertTrue(out.origins.contains(dev.oz.worker.backend.OutputOrigin.pod(pod.getMetadata().getName(), "task")),
        "output labelled with its pod and container: " + out.origins);
    assertTrue(out.ended);
    assertNull(cluster.job(job.getMetadata().getName()), "a successful Job is deleted");
    List<String> names = out.events.stream().map(SetupEvent::name).toList();
    assertTrue(names.containsAll(List.of(SetupEvent.JOB_CREATE, SetupEvent.POD_SCHEDULE, SetupEvent.SIDECAR_PREP,
        SetupEvent.CONTAINER_START)), names.toString());
    SetupEvent schedule = out.events.stream().filter(e -> e.name().equals(SetupEvent.POD_SCHEDULE)).findFirst().get();
    assertEquals(new SetupEvent(SetupEvent.POD_SCHEDULE, created, created.plusSeconds(2), false), schedule,
        "timed from the pod's own timestamps");
    assertEquals(new SetupEvent(SetupEvent.CONTAINER_START, created.plusSeconds(5), created.plusSeconds(9), false),
        out.events.stream().filter(e -> e.name().equals(SetupEvent.CONTAINER_START)).findFirst().get());
    await(backend.shutdown());
  }

  /** GO-WORKER-NEWER.md 7.3: a pod_template task-container variable named like an assignment's WARP_METADATA_* one. */
  @Test
  void aTemplateVariableShadowingServerMetadataFailsTheTaskBeforeAnyJob() throws Exception {
    OnLoop backend = backend("""
        {"pod_template": {"containers": [{"name": "task", "env": [{"name": "warp_metadata_run", "value": "x"}]}]}}
        """);
    TaskDescription base = task("t-meta");
    TaskDescription meta = new TaskDescription(base.taskId(), base.executionId(), base.title(), base.image(),
        List.of(new TaskDescription.EnvVar("WARP_METADATA_RUN", "from-server")), base.agentArgs(), base.sidecars(),
        base.shape(), base.secrets(), base.harness(), base.taskJson());
    RecordedOutput out = new RecordedOutput();
    assertEquals(TaskOutcome.failed(FailureReason.JOB_CREATE, "metadata environment variable WARP_METADATA_RUN conflicts"
        + " with configured environment variable \"warp_metadata_run\""), await(backend.execute(meta, out)));
    assertTrue(out.ended);
    assertTrue(cluster.client().batch().v1().jobs().inNamespace(MockCluster.NAMESPACE).list().getItems().stream()
        .noneMatch(j -> j.getMetadata().getName().startsWith("oz-task-t-meta")), "no Job was created");
    await(backend.shutdown());
  }

  @Test
  void oomKilledTaskFailsWithDetailsAndKeepsItsJob() throws Exception {
    OnLoop backend = backend("{}");
    RecordedOutput out = new RecordedOutput();
    Future<TaskOutcome> outcome = backend.execute(task("t-oom"), out);
    Job job = cluster.awaitJob("oz-task-t-oom-exec-", WAIT);
    Pod pod = runningPod(job);
    Instant created = Instant.parse(pod.getMetadata().getCreationTimestamp());
    cluster.podStatus(pod, s -> {
      s.setPhase("Failed");
      s.setContainerStatuses(MockCluster.list(MockCluster.terminated("task", 137, "OOMKilled", created.plusSeconds(9),
          created.plusSeconds(40))));
      return s;
    });
    TaskOutcome o = await(outcome);
    assertEquals(FailureReason.CONTAINER_OOM, o.reason());
    assertEquals(137, o.exitCode());
    assertEquals("container task in pod " + pod.getMetadata().getName() + " (namespace agents, job "
        + job.getMetadata().getName() + ") exited with code 137 (SIGKILL). Pod phase: Failed. Pod reason: OOMKilled",
        o.cause());
    JsonObject k = o.failureDetails().getJsonObject("kubernetes");
    assertEquals("pod_watch", k.getString("observation_source"));
    assertEquals(new JsonObject().put("kind", "regular").put("name", "task").put("state", "terminated")
        .put("termination_reason", "OOMKilled").put("raw_exit_code", 137).put("normalized_exit_code", 137)
        .put("started_at", created.plusSeconds(9).toString()).put("finished_at", created.plusSeconds(40).toString()),
        k.getJsonObject("container"));
    assertEquals(job.getMetadata().getUid(), k.getJsonObject("job").getString("uid"));
    assertNotNull(cluster.job(job.getMetadata().getName()), "a failed Job is kept for inspection until its TTL");
    await(backend.shutdown());
  }

  @Test
  void cancelDeletesTheJobOfThisExecutionWithForegroundPropagation() throws Exception {
    OnLoop backend = backend("{}");
    RecordedOutput out = new RecordedOutput();
    Future<TaskOutcome> outcome = backend.execute(task("t-cancel"), out);
    Job job = cluster.awaitJob("oz-task-t-cancel-exec-", WAIT);
    runningPod(job);
    await(backend.cancel("t-cancel", CancelReason.USER));
    assertEquals(TaskOutcome.Status.CANCELLED, await(outcome).status());
    MockCluster.Request delete = cluster.requests().stream().filter(r -> r.method().equals("DELETE")
        && r.path().endsWith("/jobs/" + job.getMetadata().getName())).findFirst().orElseThrow();
    assertEquals(new JsonObject().put("kind", "DeleteOptions").put("apiVersion", "v1").put("propagationPolicy", "Foreground")
        .put("preconditions", new JsonObject().put("uid", job.getMetadata().getUid())),
        new JsonObject(delete.body()));
    await(backend.shutdown());
  }

  @Test
  void readinessAsksTheApiServerOnceWithoutRetries() throws Exception {
    OnLoop backend = backend("{}");
    await(backend.on(() -> backend.backend.checkHealth()));
    cluster.fail("GET", "/version", 503, 1);
    String why = assertThrows(java.util.concurrent.ExecutionException.class,
        () -> await(backend.on(() -> backend.backend.checkHealth()))).getCause().getMessage();
    assertEquals("Kubernetes API server unreachable: GET /version: injected by the test (HTTP 503)", why);
    await(backend.on(() -> backend.backend.checkHealth()));
    await(backend.shutdown());
  }

  @Test
  void shutdownLeavesRunningJobsAlone() throws Exception {
    OnLoop backend = backend("{}");
    Future<TaskOutcome> outcome = backend.execute(task("t-keep"), new RecordedOutput());
    Job job = cluster.awaitJob("oz-task-t-keep-exec-", WAIT);
    runningPod(job);
    try (LogCapture all = LogCapture.root()) {
      await(backend.shutdown());
      assertNotNull(cluster.job(job.getMetadata().getName()));
      assertTrue(cluster.requests().stream().noneMatch(r -> r.method().equals("DELETE") && r.path().contains("/jobs/oz-task")));
      Thread.sleep(200);
      assertTrue(!outcome.isComplete(), "no outcome: the Job runs on, whoever adopts it reports it");
      // the closed watches' callbacks find nobody, quietly, and nothing is retried on the closed client (the Vert.x
      // HTTP client may still log its own "Promise already completed" for a connection closed under a watch)
      assertTrue(all.messages().stream().noneMatch(m -> m.contains("NullPointerException")
          || m.contains("RejectedExecutionException") || m.contains("Retrying")), all.all());
    }
  }
}
