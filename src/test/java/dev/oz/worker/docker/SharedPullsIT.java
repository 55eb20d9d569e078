package dev.oz.worker.docker;

import static dev.oz.worker.testing.WorkerHarness.scriptTask;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.docker.DockerOptions;
import dev.oz.worker.testing.DockerSettings;
import dev.oz.worker.testing.Engine;
import dev.oz.worker.testing.LogCapture;
import dev.oz.worker.testing.WorkerHarness;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A burst of tasks with the default pull policy and a registry that refuses connections. */
class SharedPullsIT {
  /** A registry port on loopback where nothing listens: every pull is refused at once. */
  private static final String IMAGE = "127.0.0.1:1/oz-test/agent:shared-pulls";

  @Test
  void twentyTasksAtOnceMakeOnePullAttemptAndAllRunTheLocalImage() {
    Engine.docker().tagImageCmd(Engine.AGENT, "127.0.0.1:1/oz-test/agent", "shared-pulls").exec();
    try (LogCapture logs = LogCapture.of("dev.oz.worker");
         WorkerHarness h = WorkerHarness.start(o -> DockerSettings.edit(o, d -> d.setPullPolicy(DockerOptions.DEFAULT_PULL_POLICY)))) {
      for (int i = 0; i < 20; i++) {
        h.assign(scriptTask("burst" + i, "echo ran").put("docker_image", IMAGE));
      }
      for (int i = 0; i < 20; i++) {
        assertEquals("task_completed", h.awaitTerminal("burst" + i, WorkerHarness.TASK_TIMEOUT).getString("type"),
            "task burst" + i);
      }
      // one more once the burst's attempt has failed: the burst may all have joined that attempt while it ran
      h.assign(scriptTask("late", "echo ran").put("docker_image", IMAGE));
      assertEquals("task_completed", h.awaitTerminal("late", WorkerHarness.TASK_TIMEOUT).getString("type"), "task late");
      List<String> attempts = logs.messages().stream().filter(m -> m.equals("INFO Pulling image: " + IMAGE)).toList();
      assertEquals(1, attempts.size(), logs.all());
      List<String> fallbacks = logs.messages().stream()
          .filter(m -> m.startsWith("WARN Pulling " + IMAGE + " failed") && m.contains("using the local image")).toList();
      assertEquals(21, fallbacks.size(), "every task says it runs the local image:\n" + logs.all());
      assertTrue(fallbacks.stream().allMatch(m -> m.contains("connection refused")), logs.all());
      assertTrue(fallbacks.stream().filter(m -> m.contains("was unreachable") && m.contains("not asked again for"))
          .count() >= 1, "the task after the failed attempt says the registry was not asked again:\n" + logs.all());
    } finally {
      Engine.docker().removeImageCmd(IMAGE).exec();
    }
  }
}
