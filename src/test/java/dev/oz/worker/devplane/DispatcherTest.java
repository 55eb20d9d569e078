package dev.oz.worker.devplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.oz.worker.protocol.ProtocolJson;
import dev.oz.worker.protocol.TaskAssignment.InstanceShape;
import dev.oz.worker.protocol.TaskClaimed;
import dev.oz.worker.protocol.TaskFailed;
import dev.oz.worker.protocol.TaskLog;
import dev.oz.worker.protocol.TaskRejected;
import dev.oz.worker.testing.TestVertx;
import dev.oz.worker.testing.Waits;
import io.vertx.core.Context;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The local control plane's task placement, without sockets: the frames it would send each worker. */
class DispatcherTest {
  private TestVertx testVertx;
  private Context loop;
  private Dispatcher dispatcher;
  private final List<String> toW1 = new CopyOnWriteArrayList<>();
  private final List<String> toW2 = new CopyOnWriteArrayList<>();
  private final Dispatcher.Worker w1 = new Dispatcher.Worker("w1", m -> toW1.add(ProtocolJson.encode(m)));
  private final Dispatcher.Worker w2 = new Dispatcher.Worker("w2", m -> toW2.add(ProtocolJson.encode(m)));

  @BeforeEach
  void setUp() {
    ProtocolJson.prepare();
    testVertx = TestVertx.create();
    loop = testVertx.vertx().getOrCreateContext();
    dispatcher = onLoop(() -> new Dispatcher(testVertx.vertx()));
  }

  @AfterEach
  void tearDown() {
    testVertx.close();
  }

  /** The dispatcher lives on one event loop, as in the verticle. */
  private <T> T onLoop(Callable<T> step) {
    Promise<T> result = Promise.promise();
    loop.runOnContext(v -> {
      try {
        result.complete(step.call());
      } catch (Exception e) {
        result.fail(e);
      }
    });
    try {
      return result.future().await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private void run(Runnable step) {
    onLoop(() -> {
      step.run();
      return null;
    });
  }

  private static DevTask task(String id) {
    return new DevTask(id, "ex-" + id, "title " + id, "prompt " + id, null, null, Map.of(), null);
  }

  @Test
  void offersRoundRobinAsProtocolAssignments() {
    DevTask a = new DevTask("a", "ex-a", "Title", "say hi", "img:1", "side:1", Map.of("K", "v"), new InstanceShape(2, 0));
    run(() -> {
      dispatcher.connected(w1);
      dispatcher.connected(w2);
      dispatcher.submit(a);
      dispatcher.submit(task("b"));
      dispatcher.submit(task("c"));
    });
    Waits.until(() -> toW1.size() == 2 && toW2.size() == 1, Duration.ofSeconds(5), () -> toW1 + " / " + toW2);
    assertEquals("{\"type\":\"task_assignment\",\"data\":{\"task_id\":\"a\",\"execution_id\":\"ex-a\",\"task\":{\"id\":\"a\","
        + "\"title\":\"Title\",\"task_definition\":{\"prompt\":\"say hi\"},\"created_at\":\"" + a.createdAt + "\","
        + "\"updated_at\":\"" + a.updatedAt + "\",\"owner\":{\"Type\":\"USER\",\"Id\":0}},\"docker_image\":\"img:1\","
        + "\"sidecar_image\":\"side:1\",\"env_vars\":{\"K\":\"v\"},\"instance_shape\":{\"vcpus\":2}}}", toW1.get(0));
    assertEquals(List.of("b"), taskIds(toW2));
    assertEquals(List.of("a", "c"), taskIds(toW1));
  }

  @Test
  void aRejectedTaskIsOfferedToAnotherWorker() {
    DevTask a = task("a");
    run(() -> {
      dispatcher.connected(w1);
      dispatcher.connected(w2);
      dispatcher.submit(a);
    });
    Waits.until(() -> toW1.size() == 1, Duration.ofSeconds(5), () -> "offers " + toW1);
    run(() -> dispatcher.onMessage(w1, new TaskRejected("a", TaskRejected.AT_CAPACITY)));
    Waits.until(() -> toW2.size() == 1, Duration.ofSeconds(5), () -> "no second offer");
    assertEquals(List.of("a"), taskIds(toW2));
    assertEquals(new JsonArray().add("w1"), onLoop(() -> a.toJson().getJsonArray("rejected_by")));
    run(() -> dispatcher.onMessage(w2, new TaskClaimed("a", "ex-a", "w2")));
    assertEquals("claimed", onLoop(() -> a.toJson().getString("state")));
    assertEquals("w2", onLoop(() -> a.toJson().getString("worker_id")));
  }

  @Test
  void outputReplayedByAnAdoptingWorkerIsKeptOnceByPosition() {
    DevTask a = task("a");
    run(() -> {
      dispatcher.connected(w1);
      dispatcher.submit(a);
      dispatcher.onMessage(w1, new TaskClaimed("a", "ex-a", "w1"));
      dispatcher.onMessage(w1, new TaskLog("a", "ex-a", 0, "stdout", "one\n", 0, false, 0L));
      dispatcher.onMessage(w1, new TaskLog("a", "ex-a", 1, "stderr", "warn\n", 0, false, 0L));
      // the worker restarts, claims the task again and replays the output from the start, cut differently
      dispatcher.onMessage(w1, new TaskClaimed("a", "ex-a", "w1"));
      dispatcher.onMessage(w1, new TaskLog("a", "ex-a", 0, "stdout", "one\ntwo\n", 0, false, 0L));
      dispatcher.onMessage(w1, new TaskLog("a", "ex-a", 1, "stderr", "warn\n", 0, false, 0L));
      dispatcher.onMessage(w1, new TaskLog("a", "ex-a", 2, "stdout", "four\n", 3, false, 11L)); // 3 bytes dropped
    });
    List<TaskLog> kept = onLoop(() -> List.copyOf(a.chunks.values()));
    assertEquals(List.of("one\n", "warn\n", "two\n", "four\n"), kept.stream().map(TaskLog::data).toList());
    assertEquals(4L, kept.get(2).offset(), "the new part of a chunk keeps its position");
    assertEquals(18L, onLoop(() -> a.toJson().getLong("log_bytes")));
    assertEquals(3L, onLoop(() -> a.toJson().getLong("log_missing_bytes")));
  }

  @Test
  void reportsDriveTheStateAndCancellationReachesTheWorker() {
    DevTask a = task("a");
    DevTask b = task("b");
    run(() -> dispatcher.submit(b)); // no worker yet: cancelled on the spot
    run(() -> dispatcher.cancel(b));
    assertEquals("cancelled before it was assigned", onLoop(() -> b.toJson().getString("message")));

    run(() -> {
      dispatcher.connected(w1);
      dispatcher.submit(a);
      dispatcher.onMessage(w1, new TaskClaimed("a", "ex-a", "w1"));
      dispatcher.onMessage(w1, new TaskLog("a", "ex-a", 0, "stdout", "hello\n", 0, false, 0L));
      dispatcher.onMessage(w1, new TaskLog("a", "ex-a", 0, "stdout", "hello\n", 0, false, 0L)); // resent after a reconnect
      dispatcher.cancel(a);
    });
    assertEquals("running", onLoop(() -> a.toJson().getString("state")));
    assertEquals(6L, onLoop(() -> a.toJson().getLong("log_bytes")), "a chunk sent twice is kept once");
    assertEquals("{\"type\":\"task_cancellation\",\"data\":{\"task_id\":\"a\"}}", toW1.get(toW1.size() - 1));

    run(() -> dispatcher.onMessage(w1, new TaskFailed("a", "ex-a", "Failed to execute task: boom", "unknown", 0, null)));
    assertEquals("failed", onLoop(() -> a.toJson().getString("state")));
    assertEquals("unknown", onLoop(() -> a.toJson().getString("failure_reason")));
    assertNull(onLoop(() -> a.toJson().getValue("exit_code")), "exit code 0 means none");
  }

  private static List<String> taskIds(List<String> frames) {
    return frames.stream().map(f -> new JsonObject(f).getJsonObject("data").getString("task_id")).toList();
  }
}
