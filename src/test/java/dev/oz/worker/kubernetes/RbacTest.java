package dev.oz.worker.kubernetes;

import dev.oz.worker.testing.RecordedOutput;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.oz.worker.backend.CancelReason;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.testing.Waits;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.vertx.core.Future;
import java.time.Instant;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The chart's Role against what the backend really calls: every path of the backend (start-up preflight, a task that
 * succeeds, one that fails and is expired, one that is cancelled, logs, events, the safety poll, looking for Jobs to
 * adopt after a restart) runs against the mock
 * API server, which records each verb and resource; the Role must grant exactly those.
 */
class RbacTest extends MockClusterTestBase {

  /** What the Role grants, as {@code verb group/resource} ({@code verb resource} for the core group). */
  static Set<String> rules(Role role) {
    Set<String> out = new TreeSet<>();
    for (PolicyRule rule : role.getRules()) {
      for (String group : rule.getApiGroups()) {
        for (String resource : rule.getResources()) {
          for (String verb : rule.getVerbs()) {
            out.add(verb + " " + (group.isEmpty() ? "" : group + "/") + resource);
          }
        }
      }
    }
    return out;
  }

  /** The Role the chart should render; {@link #theRoleGrantsExactlyWhatTheBackendCalls} proves it from the calls. */
  static Set<String> expectedRules() {
    return new TreeSet<>(Set.of("create batch/jobs", "delete batch/jobs", "get batch/jobs", "list batch/jobs", "patch batch/jobs",
        "watch batch/jobs", "list pods", "watch pods", "get pods/log", "list events"));
  }

  @Test
  void theRoleGrantsExactlyWhatTheBackendCalls() throws Exception {
    OnLoop backend = backend("{\"safety_poll_interval\": \"200ms\", \"unschedulable_timeout\": \"1s\"}");

    Future<TaskOutcome> ok = backend.execute(task("rbac-ok"), new RecordedOutput());
    Job okJob = cluster.awaitJob("oz-task-rbac-ok-exec-", WAIT);
    Pod okPod = cluster.createPod(okJob, Instant.now());
    cluster.log(okPod, "task", "hi\n");
    running(okPod, Instant.parse(okPod.getMetadata().getCreationTimestamp()));
    // the running task's log is followed and the safety poll (200 ms) lists its pods
    Waits.until(() -> cluster.verbs().containsAll(Set.of("get pods/log", "list pods")), WAIT,
        () -> "not followed or polled: " + cluster.verbs());
    cluster.jobCondition(okJob, "Complete", null, null);
    await(ok);

    Future<TaskOutcome> stuck = backend.execute(task("rbac-stuck"), new RecordedOutput());
    Job stuckJob = cluster.awaitJob("oz-task-rbac-stuck-exec-", WAIT);
    Pod stuckPod = cluster.createPod(stuckJob, Instant.now());
    cluster.podStatus(stuckPod, s -> {
      s.setConditions(new java.util.ArrayList<>(java.util.List.of(new io.fabric8.kubernetes.api.model.PodConditionBuilder()
          .withType("PodScheduled").withStatus("False").withReason("Unschedulable").build())));
      return s;
    });
    await(stuck);

    Future<TaskOutcome> cancelled = backend.execute(task("rbac-cancel"), new RecordedOutput());
    cluster.awaitJob("oz-task-rbac-cancel-exec-", WAIT);
    await(backend.cancel("rbac-cancel", CancelReason.USER));
    await(cancelled);
    Future<TaskOutcome> left = backend.execute(task("rbac-left"), new RecordedOutput());
    cluster.awaitJob("oz-task-rbac-left-exec-", WAIT);
    await(backend.shutdown());
    OnLoop restarted = backend("{}");
    await(restarted.adoptable());
    await(restarted.shutdown());

    Set<String> used = new TreeSet<>();
    for (String call : cluster.verbs()) {
      if (!call.equals("get /version")) {
        used.add(call);
      }
    }
    assertEquals(expectedRules(), used, "the calls the backend made");
    assertEquals(rules(HelmChartTest.one(HelmChartTest.renderDefault(), Role.class)), used, "the chart's Role");
  }
}
