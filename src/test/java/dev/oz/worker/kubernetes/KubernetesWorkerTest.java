package dev.oz.worker.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.cli.CommandLineAccess;
import dev.oz.worker.config.ConfigException;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.testing.Assignments;
import dev.oz.worker.testing.LoopbackControlPlane;
import dev.oz.worker.testing.WorkerHarness;
import dev.oz.worker.testing.Waits;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.Watch;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole worker with {@code backend.kubernetes} in a Go-worker YAML file, against the mock API server: what the
 * control plane receives for a task that succeeds and one that fails.
 */
class KubernetesWorkerTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir
  Path dir;
  MockCluster cluster;
  Watch preflights;

  @BeforeEach
  void start() {
    cluster = new MockCluster();
    preflights = MockClusterTestBase.admitPreflights(cluster);
  }

  @AfterEach
  void stop() {
    preflights.close();
    cluster.close();
  }

  private Path goYaml() throws Exception {
    return Files.writeString(dir.resolve("config.yaml"), """
        worker_id: k8s-worker
        cleanup: true
        backend:
          kubernetes:
            namespace: %s
            kubeconfig: %s
            image_pull_policy: IfNotPresent
            unschedulable_timeout: 10m
            retry_backoff: 50ms
        """.formatted(MockCluster.NAMESPACE, cluster.kubeconfig(dir)));
  }

  private static final String CONF = "{\"metrics\": {\"enabled\": false}}";
  private static final Map<String, String> ENV = Map.of("OZ_API_KEY", "k8s-key");

  private WorkerOptions load(Path yaml, String... flags) {
    return CommandLineAccess.load(List.of(flags), CONF, yaml, ENV);
  }

  @Test
  void taskRunsAsAJobAndTheControlPlaneHearsItsOutputAndOutcome() throws Exception {
    try (WorkerHarness h = WorkerHarness.fromCommandLine()) {
      LoopbackControlPlane cp = h.cp;
      WorkerOptions o = h.load(CONF, goYaml(), ENV);
      assertEquals("kubernetes", o.getBackend(), "the YAML block selects its backend");
      h.deploy();

      cp.send(Assignments.minimal("k-ok"));
      assertEquals(new JsonObject().put("task_id", "k-ok").put("worker_id", "k8s-worker"),
          cp.awaitMessage("task_claimed", "k-ok", WAIT).getJsonObject("data"));
      Job job = cluster.awaitJob("oz-task-k-ok-exec-", WAIT);
      Pod pod = cluster.createPod(job, Instant.now());
      Instant created = Instant.parse(pod.getMetadata().getCreationTimestamp());
      cluster.log(pod, "task", "agent says hi\n");
      cluster.podStatus(pod, s -> {
        s.setPhase("Succeeded");
        s.setContainerStatuses(MockCluster.list(MockCluster.terminated("task", 0, "Completed", created, created.plusSeconds(1))));
        return s;
      });
      cluster.jobCondition(job, "Complete", null, null);
      assertEquals("agent says hi\n", cp.awaitMessage("task_log", "k-ok", WAIT).getJsonObject("data").getString("data"));
      assertEquals(new JsonObject().put("task_id", "k-ok").put("message", "Task completed successfully"),
          cp.awaitMessage("task_completed", "k-ok", WAIT).getJsonObject("data"));

      cp.send(Assignments.minimal("k-fail"));
      Job failing = cluster.awaitJob("oz-task-k-fail-exec-", WAIT);
      Pod failed = cluster.createPod(failing, Instant.now());
      cluster.podStatus(failed, s -> {
        s.setPhase("Pending");
        s.setContainerStatuses(MockCluster.list(MockCluster.waiting("task", "ImagePullBackOff",
            "Back-off pulling image \"ubuntu:22.04\"")));
        return s;
      });
      JsonObject data = cp.awaitMessage("task_failed", "k-fail", WAIT).getJsonObject("data");
      JsonObject details = (JsonObject) data.remove("failure_details");
      assertEquals(1, details.getJsonObject("kubernetes").getInteger("schema_version"), "failure_details reach the report");
      assertEquals("ImagePullBackOff", details.getJsonObject("kubernetes").getJsonObject("container").getString("waiting_reason"));
      assertEquals(new JsonObject().put("task_id", "k-fail").put("message", "Failed to execute task: container task in pod "
          + failed.getMetadata().getName() + " (namespace agents, job " + failing.getMetadata().getName()
          + ") is waiting: ImagePullBackOff: Back-off pulling image \"ubuntu:22.04\". Pod phase: Pending. Pod reason: "
          + "ImagePullBackOff. Pod message: Back-off pulling image \"ubuntu:22.04\"").put("failure_reason", "image_pull"),
          data);
      assertEquals(1, cluster.job(failing.getMetadata().getName()).getSpec().getActiveDeadlineSeconds(),
          "a failed task's still-running Job is expired, not deleted");
      h.undeploy();
      assertEquals(List.of(1, 1), List.of(cp.received("task_completed").size(), cp.received("task_failed").size()),
          "one terminal report each");
    }
  }

  @Test
  void aRestartedWorkerClaimsItsRunningJobsAgainAndReportsEachOnce() throws Exception {
    try (WorkerHarness h = WorkerHarness.fromCommandLine()) {
      LoopbackControlPlane cp = h.cp;
      h.start(CONF, goYaml(), ENV);
      cp.send(Assignments.minimal("k-long"));
      cp.send(Assignments.minimal("k-done"));
      Job running = cluster.awaitJob("oz-task-k-long-exec-", WAIT);
      Job done = cluster.awaitJob("oz-task-k-done-exec-", WAIT);
      Pod pod = cluster.createPod(running, Instant.now());
      Instant created = Instant.parse(pod.getMetadata().getCreationTimestamp());
      cluster.podStatus(pod, s -> {
        s.setPhase("Running");
        s.setContainerStatuses(MockCluster.list(MockCluster.running("task", created)));
        return s;
      });
      // the worker follows the running pod's log once it has seen it run
      String podLog = "/pods/" + pod.getMetadata().getName() + "/log";
      Waits.until(() -> cluster.requests().stream().anyMatch(r -> r.path().contains(podLog)), WAIT,
          () -> "the worker never followed the pod's log: " + cluster.requests());
      h.undeploy();
      assertEquals(List.of(), cp.received("task_completed"), "shutdown left both Jobs running, unreported");
      cluster.jobCondition(done, "Complete", null, null);

      h.start(CONF, goYaml(), ENV);
      Waits.until(() -> cp.received("task_claimed").size() == 4, WAIT, () -> "claims: " + cp.received("task_claimed"));
      assertEquals(new JsonObject().put("task_id", "k-done").put("message", "Task completed successfully"),
          cp.awaitMessage("task_completed", "k-done", WAIT).getJsonObject("data"), "ended while no worker watched");
      cluster.podStatus(pod, s -> {
        s.setPhase("Succeeded");
        s.setContainerStatuses(MockCluster.list(MockCluster.terminated("task", 0, "Completed", created, created.plusSeconds(9))));
        return s;
      });
      cluster.jobCondition(running, "Complete", null, null);
      cp.awaitMessage("task_completed", "k-long", WAIT);
      h.undeploy(); // the worker has sent all it will send
      assertEquals(List.of("k-done", "k-long"), cp.received("task_completed").stream()
          .map(m -> m.getJsonObject("data").getString("task_id")).sorted().toList(), "exactly one report each");
    }
  }

  @Test
  void goYamlKeysAreCheckedWithTheirLine() throws Exception {
    Path typo = Files.writeString(dir.resolve("typo.yaml"), """
        worker_id: w
        backend:
          kubernetes:
            namespace: agents
            unschedulable_timout: 5m
        """);
    String message = assertThrows(ConfigException.class, () -> load(typo)).getMessage();
    assertTrue(message.startsWith(typo + ": line 5: unknown key \"unschedulable_timout\" in backend.kubernetes (valid: "),
        message);
    Path badDuration = Files.writeString(dir.resolve("bad.yaml"), """
        worker_id: w
        backend:
          kubernetes:
            volume_mount_timeout: two minutes
        """);
    assertEquals(badDuration + ": backend.kubernetes.volume_mount_timeout: invalid duration \"two minutes\" (use a value "
        + "like \"250ms\", \"10s\" or \"1m30s\")", assertThrows(ConfigException.class, () -> load(badDuration)).getMessage());
    Path podTemplate = Files.writeString(dir.resolve("template.yaml"), """
        worker_id: w
        backend:
          kubernetes:
            pod_template:
              serviceAccountName: runner
              nodeSelector: {pool: agents}
              containers:
                - name: task
                  resources: {requests: {cpu: 500m}}
        """);
    WorkerOptions o = load(podTemplate);
    KubernetesOptions k = KubernetesOptions.fromJson(o.getBackendBlock("kubernetes"));
    assertEquals("runner", k.getPodTemplate().getServiceAccountName());
    assertEquals("500m", k.getPodTemplate().getContainers().get(0).getResources().getRequests().get("cpu").toString());
    assertEquals("k8s", load(podTemplate, "--kubernetes-namespace", "k8s").getBackendBlock("kubernetes").getString("namespace"),
        "the flag overrides the file");
  }
}
