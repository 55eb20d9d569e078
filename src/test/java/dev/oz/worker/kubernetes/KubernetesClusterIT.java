package dev.oz.worker.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.oz.worker.backend.BackendContext;
import dev.oz.worker.backend.CancelReason;
import dev.oz.worker.backend.TaskDescription;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.protocol.FailureReason;
import dev.oz.worker.testing.RecordedOutput;
import dev.oz.worker.testing.TestVertx;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The backend against a real cluster: {@code ./mvnw verify -Pkubernetes-it} with {@code KUBECONFIG} set (namespace
 * {@code OZ_IT_NAMESPACE}, default {@code default}; pulls busybox). Skipped, saying so, without {@code KUBECONFIG}.
 * The agent sidecar is busybox made writable, and the setup command writes an {@code /agent/entrypoint.sh}.
 */
class KubernetesClusterIT {
  static TestVertx tv;
  static MockClusterTestBase.OnLoop backend;

  @BeforeAll
  static void start() throws Exception {
    String kubeconfig = System.getenv("KUBECONFIG");
    if (kubeconfig == null || kubeconfig.isBlank()) {
      String skip = "KUBECONFIG is not set: skipping the real-cluster tests (point KUBECONFIG at a cluster and run "
          + "./mvnw verify -Pkubernetes-it)";
      System.out.println("[WARNING] KubernetesClusterIT: " + skip);
      assumeTrue(false, skip);
    }
    String namespace = System.getenv().getOrDefault("OZ_IT_NAMESPACE", "default");
    tv = TestVertx.create();
    KubernetesOptions options = KubernetesOptions.fromJson(new JsonObject()
        .put("kubeconfig", kubeconfig.split(java.io.File.pathSeparator)[0]).put("namespace", namespace)
        .put("preflight_timeout", "2m").put("setup_command",
            "if [ -n \"$IT_ENTRYPOINT\" ]; then printf '%s\\n' '#!/bin/sh' \"$IT_ENTRYPOINT\" > /agent/entrypoint.sh"
                + " && chmod +x /agent/entrypoint.sh; fi"));
    WorkerOptions worker = new WorkerOptions().setWorkerId("it-" + UUID.randomUUID().toString().substring(0, 8))
        .setApiKey("unused");
    backend = new MockClusterTestBase.OnLoop(tv.vertx().getOrCreateContext());
    backend.on(() -> {
      backend.backend = new KubernetesBackendFactory().create(new BackendContext<>(tv.vertx(), worker, options, Map.of()));
      return backend.backend.start();
    }).toCompletionStage().toCompletableFuture().get(3, TimeUnit.MINUTES);
  }

  @AfterAll
  static void stop() throws Exception {
    if (backend != null) {
      await(backend.shutdown());
      tv.close();
    }
  }

  static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(5, TimeUnit.MINUTES);
  }

  /** A task whose agent is {@code script}, on busybox, with a writable busybox as its /agent sidecar. */
  static TaskDescription task(String script, boolean writableAgent) {
    String id = "it-" + UUID.randomUUID();
    return new TaskDescription(id, id, "cluster IT", "busybox:1.36",
        List.of(new TaskDescription.EnvVar("IT_ENTRYPOINT", script)), List.of("agent", "run"),
        List.of(new TaskDescription.SidecarMount("busybox:1.36", "/agent", writableAgent)), TaskDescription.Shape.NONE,
        List.of());
  }

  @Test
  void aTaskRunsToCompletionWithItsOutput() throws Exception {
    RecordedOutput out = new RecordedOutput();
    TaskOutcome o = await(backend.execute(task("echo hello from the cluster: $@", true), out));
    assertEquals(TaskOutcome.succeeded(), o, o.toString());
    assertTrue(out.text().contains("hello from the cluster: agent run"), out.text());
  }

  @Test
  void aMissingEntrypointIsAContainerExit() throws Exception {
    TaskOutcome o = await(backend.execute(task("", false), new RecordedOutput()));
    assertEquals(FailureReason.CONTAINER_EXIT, o.reason(), o.cause());
    assertEquals(127, o.exitCode());
  }

  @Test
  void aCancelledTaskIsDeleted() throws Exception {
    TaskDescription t = task("sleep 600", true);
    Future<TaskOutcome> o = backend.execute(t, new RecordedOutput());
    Thread.sleep(20_000);
    await(backend.cancel(t.taskId(), CancelReason.USER));
    assertEquals(TaskOutcome.Status.CANCELLED, await(o).status());
  }
}
