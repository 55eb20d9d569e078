package dev.oz.worker.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.backend.AdoptedTask;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.protocol.FailureReason;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.vertx.core.Future;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A restarted worker adopts the Jobs its earlier process left running (same worker id), follows them on, and each
 * ends once; Jobs whose end was already reported are left alone.
 */
class ReattachTest extends MockClusterTestBase {

  @Test
  void aJobStillRunningIsFollowedOnWithAGapMarker() throws Exception {
    OnLoop first = backend("{}");
    first.execute(task("r-run"), new Recorded());
    Job job = cluster.awaitJob("oz-task-r-run-exec-", WAIT);
    Pod pod = runningPod(job);
    await(first.shutdown());

    OnLoop second = backend("{}");
    List<AdoptedTask> found = await(second.adoptable());
    assertEquals(List.of("r-run"), found.stream().map(AdoptedTask::taskId).toList());
    assertEquals("exec-r-run", found.get(0).executionId());
    assertEquals(List.of(), found.get(0).secrets(), "TASK_ID and the worker's own variables are not secrets");
    cluster.log(pod, "task", "after the restart\n");
    Recorded out = new Recorded();
    Future<TaskOutcome> outcome = second.resume(found.get(0), out);
    Thread.sleep(500);
    assertTrue(!outcome.isComplete());
    Instant t = Instant.parse(pod.getMetadata().getCreationTimestamp());
    cluster.podStatus(pod, s -> {
      s.setPhase("Succeeded");
      s.setContainerStatuses(MockCluster.list(MockCluster.terminated("task", 0, "Completed", t, t.plusSeconds(5))));
      return s;
    });
    cluster.jobCondition(job, "Complete", null, null);
    assertEquals(TaskOutcome.succeeded(), await(outcome));
    assertTrue(out.text().startsWith("[oz-agent-worker: a restarted worker follows this task from "), out.text());
    assertTrue(out.text().endsWith("may be missing]\nafter the restart\n"), out.text());
    assertTrue(requests("GET", "/log?container=task&follow=true&sinceTime=").size() >= 1,
        "the log is followed from the adoption on, not repeated");
    assertNull(cluster.job(job.getMetadata().getName()), "cleaned up as any successful Job");
    await(second.shutdown());
  }

  @Test
  void aJobThatEndedWhileNoWorkerWatchedIsReportedOnceAndDecidedJobsAreNotAdopted() throws Exception {
    OnLoop first = backend("{}");
    first.execute(task("r-ended"), new Recorded());
    Future<TaskOutcome> failed = first.execute(task("r-failed"), new Recorded());
    Job ended = cluster.awaitJob("oz-task-r-ended-exec-", WAIT);
    Job failedJob = cluster.awaitJob("oz-task-r-failed-exec-", WAIT);
    cluster.jobCondition(failedJob, "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit");
    assertEquals(FailureReason.JOB_FAILED, await(failed).reason());
    await(first.shutdown());
    cluster.jobCondition(ended, "Failed", "DeadlineExceeded", "Job was active longer than specified deadline");

    OnLoop second = backend("{}");
    List<AdoptedTask> found = await(second.adoptable());
    assertEquals(List.of("r-ended"), found.stream().map(AdoptedTask::taskId).toList(),
        "the failed Job kept for inspection was reported already");
    TaskOutcome o = await(second.resume(found.get(0), new Recorded()));
    assertEquals(FailureReason.ACTIVE_DEADLINE, o.reason());
    assertEquals(List.of(), await(second.adoptable()), "now decided: a third process would not report it again");
    await(second.shutdown());
  }

  @Test
  void anotherWorkersJobsAreNotAdopted() throws Exception {
    OnLoop first = backend("{}");
    first.execute(task("r-mine"), new Recorded());
    cluster.awaitJob("oz-task-r-mine-exec-", WAIT);
    await(first.shutdown());
    OnLoop other = backend("{}", new dev.oz.worker.config.WorkerOptions().setWorkerId("worker-b").setApiKey("k"));
    assertEquals(List.of(), await(other.adoptable()));
    await(other.shutdown());
  }
}
