package dev.oz.worker.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.backend.BackendContext;
import dev.oz.worker.backend.CancelReason;
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
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
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
 * A backend against the mock API server, called on its own event loop; the test plays the Job controller and the
 * kubelet ({@link MockCluster}) and checks outcomes, output, setup events and what is left in the cluster.
 */
abstract class MockClusterTestBase {
  static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir
  Path dir;
  TestVertx tv;
  MockCluster cluster;
  Watch preflights;

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

    Future<java.util.List<dev.oz.worker.backend.AdoptedTask>> adoptable() {
      return on(() -> backend.adoptable());
    }

    Future<TaskOutcome> resume(dev.oz.worker.backend.AdoptedTask task, TaskOutput out) {
      return on(() -> backend.resume(task, out));
    }
  }

  OnLoop backend(String json) throws Exception {
    return backend(json, new WorkerOptions().setWorkerId("worker-a").setApiKey("key"));
  }

  OnLoop backend(String json, WorkerOptions worker) throws Exception {
    JsonObject block = new JsonObject(json).put("kubeconfig", cluster.kubeconfig(dir).toString())
        .put("namespace", MockCluster.NAMESPACE);
    if (!block.containsKey("retry_backoff")) {
      block.put("retry_backoff", "50ms");
    }
    KubernetesOptions options = KubernetesOptions.fromJson(block);
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

  /** The expiry patches (not the outcome marks) sent for a Job. */
  List<MockCluster.Request> expirePatches(String jobName) {
    return requests("PATCH", "/jobs/" + jobName).stream().filter(r -> r.body().contains("activeDeadlineSeconds")).toList();
  }

  /** Why the backend did not start. */
  String startFailure(String json) throws Exception {
    try {
      backend(json);
    } catch (java.util.concurrent.ExecutionException e) {
      return e.getCause().getMessage();
    }
    throw new AssertionError("the backend started");
  }

  /** Requests with this method whose path contains {@code part}. */
  List<MockCluster.Request> requests(String method, String part) {
    return cluster.requests().stream().filter(r -> r.method().equals(method) && r.path().contains(part)).toList();
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

}
