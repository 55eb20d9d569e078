package dev.oz.worker.kubernetes;

import dev.oz.worker.testing.RecordedOutput;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.backend.AdoptedTask;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.protocol.FailureReason;
import dev.oz.worker.testing.Waits;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.vertx.core.Future;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A restarted worker adopts the Jobs its earlier process left running (same worker id), follows them on, and each
 * ends once; Jobs whose end was already reported are left alone.
 */
class ReattachTest extends MockClusterTestBase {

  @Test
  void aJobStillRunningIsFollowedOnWithAGapMarker() throws Exception {
    OnLoop first = backend("{}");
    first.execute(task("r-run"), new RecordedOutput());
    Job job = cluster.awaitJob("oz-task-r-run-exec-", WAIT);
    Pod pod = runningPod(job);
    await(first.shutdown());

    OnLoop second = backend("{}");
    List<AdoptedTask> found = await(second.adoptable());
    assertEquals(List.of("r-run"), found.stream().map(AdoptedTask::taskId).toList());
    assertEquals("exec-r-run", found.get(0).executionId());
    assertEquals(List.of(), found.get(0).secrets(), "TASK_ID and the worker's own variables are not secrets");
    cluster.log(pod, "task", "after the restart\n");
    RecordedOutput out = new RecordedOutput();
    Future<TaskOutcome> outcome = second.resume(found.get(0), out);
    Waits.until(() -> out.text().contains("after the restart"), WAIT, () -> "not followed: " + out.text());
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
    first.execute(task("r-ended"), new RecordedOutput());
    Future<TaskOutcome> failed = first.execute(task("r-failed"), new RecordedOutput());
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
    TaskOutcome o = await(second.resume(found.get(0), new RecordedOutput()));
    assertEquals(FailureReason.ACTIVE_DEADLINE, o.reason());
    assertEquals(List.of(), await(second.adoptable()), "now decided: a third process would not report it again");
    await(second.shutdown());
  }

  @Test
  void anotherWorkersJobsAreNotAdopted() throws Exception {
    OnLoop first = backend("{}");
    first.execute(task("r-mine"), new RecordedOutput());
    cluster.awaitJob("oz-task-r-mine-exec-", WAIT);
    await(first.shutdown());
    OnLoop other = backend("{}", new dev.oz.worker.config.WorkerOptions().setWorkerId("worker-b").setApiKey("k"));
    assertEquals(List.of(), await(other.adoptable()));
    await(other.shutdown());
  }

  /**
   * A task Job as the Go worker makes it (kubernetes.go): the six id labels on Job and pod template, no annotations of
   * ours, a {@code task} container whose environment holds the task's variables and {@code OZ_RUN_ID}.
   */
  private Job goJob(String taskId, String executionId, String secret) {
    String execution = Labels.executionOrTask(taskId, executionId);
    Map<String, String> labels = Map.of(
        Labels.WORKER_ID, Labels.labelValue("worker-a"), Labels.WORKER_HASH, Labels.hash("worker-a"),
        Labels.TASK_ID, Labels.labelValue(taskId), Labels.TASK_HASH, Labels.hash(taskId),
        Labels.EXECUTION_ID, Labels.labelValue(execution), Labels.EXECUTION_HASH, Labels.hash(execution));
    Job job = new JobBuilder()
        .withNewMetadata().withName(Labels.jobName(taskId, execution)).withNamespace(MockCluster.NAMESPACE)
        .withLabels(labels).endMetadata()
        .withNewSpec().withBackoffLimit(0).withNewTemplate().withNewMetadata().withLabels(labels).endMetadata()
        .withNewSpec().withRestartPolicy("Never").addNewContainer().withName("task").withImage("dev:1")
        .withCommand("/bin/sh", "-c", "exec \"$@\"", "oz-task").withArgs("agent", "run")
        .addNewEnv().withName("TASK_ID").withValue(taskId).endEnv()
        .addNewEnv().withName("GITHUB_TOKEN").withValue(secret).endEnv()
        .addNewEnv().withName("OZ_WORKER_BACKEND").withValue("kubernetes").endEnv()
        .addNewEnv().withName("OZ_RUN_ID").withValue(taskId).endEnv()
        .endContainer().endSpec().endTemplate().endSpec()
        .build();
    return cluster.client().batch().v1().jobs().inNamespace(MockCluster.NAMESPACE).resource(job).create();
  }

  @Test
  void aRunningJobTheGoWorkerCreatedIsAdoptedAndReportedOnce() throws Exception {
    Job job = goJob("Go-Run", "0f9c2a7e-1b2c-4d5e-8f90-123456789abc", "ghp-go-secret");
    Pod pod = runningPod(job);

    OnLoop worker = backend("{}");
    List<AdoptedTask> found = await(worker.adoptable());
    assertEquals(
        List.of(new AdoptedTask("Go-Run", "0f9c2a7e-1b2c-4d5e-8f90-123456789abc", "", List.of("ghp-go-secret"))), found,
        "the exact ids, confirmed by their hash labels; the task's own values as secrets");
    cluster.log(pod, "task", "still working\n");
    RecordedOutput out = new RecordedOutput();
    Future<TaskOutcome> outcome = worker.resume(found.get(0), out);
    Instant t = Instant.parse(pod.getMetadata().getCreationTimestamp());
    cluster.podStatus(pod, s -> {
      s.setPhase("Failed");
      s.setContainerStatuses(MockCluster.list(MockCluster.terminated("task", 3, "Error", t, t.plusSeconds(5))));
      return s;
    });
    TaskOutcome o = await(outcome);
    assertEquals(FailureReason.CONTAINER_EXIT, o.reason(), o.toString());
    assertEquals(3, o.exitCode());
    assertTrue(out.text().endsWith("may be missing]\nstill working\n"), out.text());
    assertEquals(List.of(), await(worker.adoptable()), "decided now: not adopted again");
    await(worker.shutdown());
  }

  @Test
  void goJobsThatFinishedWereStoppedOrCannotBeIdentifiedAreLeftAlone() throws Exception {
    cluster.jobCondition(goJob("go-done", "exec-done", "secret-1"), "Complete", null, null);
    cluster.jobCondition(goJob("go-failed", "exec-failed", "secret-2"), "Failed", "BackoffLimitExceeded", "limit");
    Job stopped = goJob("go-stopped", "exec-stopped", "secret-3");
    stopped.getSpec().setParallelism(0);
    stopped.getSpec().setActiveDeadlineSeconds(1L);
    cluster.client().batch().v1().jobs().inNamespace(MockCluster.NAMESPACE).resource(stopped).update();
    goJob("go-lossy", "Exec:With/Odd_Chars", "secret-4"); // the readable label cannot give the exact id back
    goJob("go-no-exec", null, "secret-5");

    OnLoop worker = backend("{}");
    List<AdoptedTask> found = await(worker.adoptable());
    assertEquals(List.of(new AdoptedTask("go-no-exec", null, "", List.of("secret-5"))), found,
        "an assignment without an execution id: the Go worker named the execution after the task");
    assertEquals(List.of(), requests("PATCH", "/jobs/oz-task-"), "nothing was changed on the Jobs left alone");
    assertEquals(List.of(), requests("DELETE", "/jobs/oz-task-"));
    assertEquals(5, cluster.client().batch().v1().jobs().inNamespace(MockCluster.NAMESPACE).list().getItems().stream()
        .filter(j -> j.getMetadata().getName().startsWith("oz-task-go-")).count(), "all still there");
    await(worker.shutdown());
  }
}
