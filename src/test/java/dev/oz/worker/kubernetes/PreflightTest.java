package dev.oz.worker.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.time.Instant;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The start-up preflight Job: what passes, what fails, the message an operator gets, and that it is removed. */
class PreflightTest extends MockClusterTestBase {
  private static final String LEGACY = "kubernetes startup preflight failed: the kubernetes backend requires creating "
      + "task Jobs with a root init container for sidecar materialization; verify service account/RBAC and Pod "
      + "Security or admission policy for namespace \"agents\": ";

  @BeforeEach
  void noAutomaticAdmission() {
    preflights.close();
  }

  private Watch onPreflight(Consumer<Job> controller) {
    preflights = cluster.client().batch().v1().jobs().inNamespace(MockCluster.NAMESPACE)
        .withLabel(TaskJobs.PREFLIGHT_LABEL, "true").watch(new Watcher<>() {
          @Override
          public void eventReceived(Action action, Job job) {
            if (action == Action.ADDED) {
              controller.accept(job);
            }
          }

          @Override
          public void onClose(WatcherException cause) {
          }
        });
    return preflights;
  }

  private void assertPreflightJobsRemoved() {
    assertTrue(cluster.client().batch().v1().jobs().inNamespace(MockCluster.NAMESPACE)
        .withLabel(TaskJobs.PREFLIGHT_LABEL, "true").list().getItems().isEmpty(), "the preflight Job is deleted");
  }

  @Test
  void admissionRefusalIsReportedFromTheControllersEvent() throws Exception {
    onPreflight(job -> cluster.event("Job", job.getMetadata().getName(), job.getMetadata().getUid(), "Warning",
        "FailedCreate", "pods \"p\" is forbidden: violates PodSecurity \"restricted:latest\": runAsNonRoot != true",
        Instant.now(), Instant.now(), 1));
    String message = startFailure("{}");
    assertTrue(Pattern.matches(Pattern.quote(LEGACY + "preflight Job \"") + "oz-preflight-6a65e237ae44c428-\\d+"
        + Pattern.quote("\" could not create a Pod: pods \"p\" is forbidden: violates PodSecurity \"restricted:latest\": "
        + "runAsNonRoot != true"), message), message);
    assertPreflightJobsRemoved();
  }

  @Test
  void noPodInTimeFailsTheStart() throws Exception {
    String message = startFailure("{\"preflight_timeout\": \"1s\"}");
    assertTrue(Pattern.matches(Pattern.quote(LEGACY + "timed out waiting for startup preflight Job \"")
        + "oz-preflight-6a65e237ae44c428-\\d+" + Pattern.quote("\" to create a Pod or surface a controller failure"),
        message), message);
    assertPreflightJobsRemoved();
  }

  @Test
  void jobCreationRefusedByRbac() throws Exception {
    cluster.fail("POST", "/apis/batch/v1/namespaces/agents/jobs", 403, 1);
    assertEquals(LEGACY + "POST /apis/batch/v1/namespaces/agents/jobs: injected by the test (HTTP 403)",
        startFailure("{}"));
  }

  @Test
  void imageVolumesNeedTheJobToComplete() throws Exception {
    onPreflight(job -> {
      cluster.createPod(job, Instant.now());
      new Thread(() -> {
        try {
          Thread.sleep(500);
        } catch (InterruptedException e) {
          return;
        }
        cluster.jobCondition(job, "Complete", null, null);
      }).start();
    });
    long start = System.nanoTime();
    backend("{\"use_image_volumes\": true}").shutdown();
    assertTrue(System.nanoTime() - start >= 500_000_000L, "a pod alone was not enough");
    assertPreflightJobsRemoved();
  }

  @Test
  void legacyModeSucceedsOnceAPodExists() throws Exception {
    onPreflight(job -> cluster.createPod(job, Instant.now()));
    await(backend("{}").shutdown());
    assertPreflightJobsRemoved();
  }
}
