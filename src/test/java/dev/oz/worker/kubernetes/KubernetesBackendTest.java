package dev.oz.worker.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
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
import dev.oz.worker.testing.TestVertx;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.mockwebserver.http.RecordedRequest;
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

/**
 * The backend against the mock API server: the test plays the Job controller and kubelet ({@link MockCluster}) and
 * checks the outcome, the output, the setup events and what was left in the cluster.
 */
class KubernetesBackendTest {
  static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir
  Path dir;
  TestVertx tv;
  MockCluster cluster;
  Watch preflights;

  /** What a task printed, its setup events, and whether its output ended. */
  static final class Recorded implements TaskOutput {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    final List<SetupEvent> events = new ArrayList<>();
    volatile boolean ended;

    @Override
    public boolean wantsOutput() {
      return true;
    }

    @Override
    public synchronized boolean write(StdStream stream, byte[] b, int offset, int length) {
      bytes.write(b, offset, length);
      return true;
    }

    @Override
    public void end() {
      ended = true;
    }

    @Override
    public synchronized void setupEvent(SetupEvent event) {
      events.add(event);
    }

    synchronized String text() {
      return bytes.toString(StandardCharsets.UTF_8);
    }
  }

  @BeforeEach
  void startCluster() {
    tv = TestVertx.create();
    cluster = new MockCluster();
    preflights = admitPreflights(cluster);
  }

  @AfterEach
  void stopCluster() {
    preflights.close();
    cluster.close();
    tv.close();
  }

  /** The Job controller's answer to a preflight Job: a pod (admission passed). */
  static Watch admitPreflights(MockCluster cluster) {
    return cluster.client().batch().v1().jobs().inNamespace(MockCluster.NAMESPACE).withLabel(TaskJobs.PREFLIGHT_LABEL, "true")
        .watch(new Watcher<>() {
          @Override
          public void eventReceived(Action action, Job job) {
            if (action == Action.ADDED) {
              cluster.createPod(job, Instant.now());
            }
          }

          @Override
          public void onClose(WatcherException cause) {
          }
        });
  }

  /** The backend, called on its own event loop as the worker's backend verticle calls it. */
  static final class OnLoop {
    final io.vertx.core.Context context;
    TaskBackend backend;

    OnLoop(io.vertx.core.Context context) {
      this.context = context;
    }

    <T> Future<T> on(java.util.function.Supplier<Future<T>> call) {
      io.vertx.core.Promise<T> p = io.vertx.core.Promise.promise();
      context.runOnContext(v -> call.get().onComplete(p));
      return p.future();
    }

    Future<TaskOutcome> execute(TaskDescription task, TaskOutput out) {
      return on(() -> backend.execute(task, out));
    }

    Future<Void> cancel(String taskId, CancelReason reason) {
      return on(() -> backend.cancel(taskId, reason));
    }

    Future<Void> shutdown() {
      return on(() -> backend.shutdown());
    }
  }

  OnLoop backend(String json) throws Exception {
    JsonObject block = new JsonObject(json).put("kubeconfig", cluster.kubeconfig(dir).toString())
        .put("namespace", MockCluster.NAMESPACE);
    if (!block.containsKey("retry_backoff")) {
      block.put("retry_backoff", "50ms");
    }
    KubernetesOptions options = KubernetesOptions.fromJson(block);
    WorkerOptions worker = new WorkerOptions().setWorkerId("worker-a").setApiKey("key");
    OnLoop loop = new OnLoop(tv.vertx().getOrCreateContext());
    await(loop.on(() -> {
      loop.backend = new KubernetesBackendFactory().create(new BackendContext<>(tv.vertx(), worker, options, Map.of()));
      return loop.backend.start();
    }));
    return loop;
  }

  static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
  }

  static TaskDescription task(String id) {
    return new TaskDescription(id, "exec-" + id, "title", "dev:1",
        List.of(new TaskDescription.EnvVar("TASK_ID", id)), List.of("agent", "run", "--task-id", id),
        List.of(new TaskDescription.SidecarMount("warp/agent:1", "/agent", false)), TaskDescription.Shape.NONE, List.of());
  }

  /** Pod created at {@code created}, scheduled, copy init done, task container running. */
  Pod runningPod(Job job) {
    Pod pod = cluster.createPod(job, Instant.now());
    return running(pod, Instant.parse(pod.getMetadata().getCreationTimestamp()));
  }

  Pod running(Pod pod, Instant created) {
    return cluster.podStatus(pod, s -> {
      s.setPhase("Running");
      s.setConditions(new ArrayList<>(List.of(new io.fabric8.kubernetes.api.model.PodConditionBuilder()
          .withType("PodScheduled").withStatus("True").withLastTransitionTime(created.plusSeconds(2).toString()).build())));
      s.setInitContainerStatuses(MockCluster.list(MockCluster.terminated("copy-sidecar-0", 0, "Completed",
          created.plusSeconds(3), created.plusSeconds(5))));
      s.setContainerStatuses(MockCluster.list(MockCluster.running("task", created.plusSeconds(9))));
      return s;
    });
  }

  @Test
  void successfulTaskStreamsItsLogSendsSetupEventsAndDeletesItsJob() throws Exception {
    OnLoop backend = backend("{}");
    Recorded out = new Recorded();
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

  @Test
  void oomKilledTaskFailsWithDetailsAndKeepsItsJob() throws Exception {
    OnLoop backend = backend("{}");
    Recorded out = new Recorded();
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
    Recorded out = new Recorded();
    Future<TaskOutcome> outcome = backend.execute(task("t-cancel"), out);
    Job job = cluster.awaitJob("oz-task-t-cancel-exec-", WAIT);
    runningPod(job);
    await(backend.cancel("t-cancel", CancelReason.USER));
    assertEquals(TaskOutcome.Status.CANCELLED, await(outcome).status());
    RecordedRequest delete = cluster.requests().stream().filter(r -> r.getMethod().equals("DELETE")
        && r.getPath().endsWith("/jobs/" + job.getMetadata().getName())).findFirst().orElseThrow();
    assertEquals(new JsonObject().put("kind", "DeleteOptions").put("apiVersion", "v1").put("propagationPolicy", "Foreground")
        .put("preconditions", new JsonObject().put("uid", job.getMetadata().getUid())),
        new JsonObject(delete.getUtf8Body()));
    await(backend.shutdown());
  }

  @Test
  void shutdownLeavesRunningJobsAlone() throws Exception {
    OnLoop backend = backend("{}");
    Future<TaskOutcome> outcome = backend.execute(task("t-keep"), new Recorded());
    Job job = cluster.awaitJob("oz-task-t-keep-exec-", WAIT);
    runningPod(job);
    await(backend.shutdown());
    assertNotNull(cluster.job(job.getMetadata().getName()));
    assertTrue(cluster.requests().stream().noneMatch(r -> r.getMethod().equals("DELETE") && r.getPath().contains("/jobs/oz-task")));
    Thread.sleep(200);
    assertTrue(!outcome.isComplete(), "no outcome: the Job runs on, whoever adopts it reports it");
  }
}
