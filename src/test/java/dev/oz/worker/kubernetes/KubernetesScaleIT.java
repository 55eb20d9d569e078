package dev.oz.worker.kubernetes;

import dev.oz.worker.testing.RecordedOutput;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.backend.TaskOutcome;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.vertx.core.Future;
import java.lang.management.ManagementFactory;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * No thread per task: 50 running Jobs, each with its Job and pod watch open and its pod log followed, against the
 * mock API server. The mock server runs in the same JVM and keeps one thread per open watch (its
 * {@code WatchEventsListener}s, named {@code pool-N-thread-1}); every other thread is counted: the worker adds none per
 * task, only its fixed pools fill up (Vert.x's worker pool of 20, two callback threads).
 */
class KubernetesScaleIT extends MockClusterTestBase {
  static final int TASKS = 50;

  /** Live threads by name with digits dropped ("vert.x-eventloop-thread-", "oz-kubernetes-callbacks-"). */
  static Map<String, Integer> threads() {
    Map<String, Integer> out = new TreeMap<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      out.merge(t.getName().replaceAll("\\d+", "#"), 1, Integer::sum);
    }
    return out;
  }

  @Test
  void fiftyRunningJobsHoldNoThreadEach() throws Exception {
    OnLoop backend = backend("{}");
    cluster.holdLogs(true);
    Map<String, Integer> before = threads();
    int liveBefore = ManagementFactory.getThreadMXBean().getThreadCount();
    List<Future<TaskOutcome>> outcomes = new ArrayList<>();
    List<Job> jobs = new ArrayList<>();
    for (int i = 0; i < TASKS; i++) {
      outcomes.add(backend.execute(task("scale-" + i), new RecordedOutput()));
    }
    for (int i = 0; i < TASKS; i++) {
      Job job = cluster.awaitJob("oz-task-scale-" + i + "-exec-", WAIT);
      jobs.add(job);
      Pod pod = cluster.createPod(job, Instant.now());
      cluster.log(pod, "task", "working\n");
      running(pod, Instant.parse(pod.getMetadata().getCreationTimestamp()));
    }
    long end = System.nanoTime() + WAIT.toNanos();
    while (requests("GET", "/log?container=task").size() < TASKS && System.nanoTime() < end) {
      Thread.sleep(100);
    }
    assertEquals(TASKS, requests("GET", "/log?container=task").size(), "every task's log is being followed");
    Thread.sleep(1000);
    Map<String, Integer> during = threads();
    int liveDuring = ManagementFactory.getThreadMXBean().getThreadCount();
    System.out.printf("threads with %d running Jobs: %d live before, %d during; by name before %s; during %s%n",
        TASKS, liveBefore, liveDuring, before, during);
    int added = (liveDuring - during.getOrDefault("pool-#-thread-#", 0)) - (liveBefore - before.getOrDefault("pool-#-thread-#", 0));
    System.out.printf("threads added by the worker for %d running Jobs: %d%n", TASKS, added);
    assertTrue(added <= 20, "at most the worker pool filling up, never a thread per task: " + before + " -> " + during);
    assertEquals(2, during.get("oz-kubernetes-callbacks-#"));
    for (int i = 0; i < TASKS; i++) {
      cluster.jobCondition(jobs.get(i), "Complete", null, null);
    }
    for (Future<TaskOutcome> o : outcomes) {
      assertEquals(TaskOutcome.succeeded(), await(o));
    }
    await(backend.shutdown());
  }
}
