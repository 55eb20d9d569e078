package dev.oz.worker.controlplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.oz.worker.protocol.TaskClaimed;
import dev.oz.worker.protocol.TaskCompleted;
import dev.oz.worker.protocol.TaskLog;
import dev.oz.worker.protocol.TaskRejected;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Backoff, URL and outbox rules of the connection. */
class ConnectionPartsTest {

  @Test
  void backoffDoublesToTheCapAndResets() {
    Backoff b = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), () -> 0.0);
    List<Long> delays = new ArrayList<>();
    for (int i = 0; i < 9; i++) {
      delays.add(b.nextDelayMs());
    }
    assertEquals(List.of(1000L, 2000L, 4000L, 8000L, 16000L, 32000L, 60000L, 60000L, 60000L), delays);
    b.reset();
    assertEquals(1000L, b.nextDelayMs());
    b.toMax();
    assertEquals(60000L, b.nextDelayMs());
  }

  @Test
  void jitterOnlyShortensUpToTwentyPercent() {
    Backoff b = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), () -> 1.0);
    assertEquals(800L, b.nextDelayMs());
    assertEquals(1600L, b.nextDelayMs());
  }

  @Test
  void urlGetsWorkerIdAndKeepsOtherQuery() {
    assertEquals("ws://h:1/ws?worker_id=w+1", ConnectionUrl.withWorkerId("ws://h:1/ws", "w 1"));
    assertEquals("wss://h/ws?a=1&b=2&worker_id=w", ConnectionUrl.withWorkerId("wss://h/ws?a=1&worker_id=old&b=2", "w"));
    assertEquals("ws://h/?worker_id=w", ConnectionUrl.withWorkerId("ws://h", "w"));
  }

  @Test
  void outboxKeepsOrderAndRequeuesUnconfirmedWrites() {
    Outbox o = new Outbox(100, 0);
    o.add(new TaskClaimed("a", null, "w"), null);
    o.add(new TaskClaimed("b", null, "w"), null);
    o.add(new TaskClaimed("c", null, "w"), null);
    assertEquals("a", o.nextUnsent(1).message.taskId());
    assertEquals("b", o.nextUnsent(2).message.taskId());
    assertEquals("a", o.confirmOldest().message.taskId());
    o.requeueInFlight();
    assertEquals("b", o.nextUnsent(3).message.taskId(), "unconfirmed b goes first again");
    assertEquals("c", o.nextUnsent(4).message.taskId());
    assertFalse(o.hasUnsent());
    assertEquals(3, o.oldestInFlightNanos());
  }

  @Test
  void fullOutboxDropsOldestClaimButNeverTerminalReportsOrLogs() {
    Outbox o = new Outbox(2, 0);
    assertNull(o.add(TaskCompleted.success("done1", null), null));
    assertNull(o.add(new TaskLog("x", null, 0, "stdout", "hi", 0, false, null), null));
    assertNull(o.add(new TaskClaimed("c1", null, "w"), null));
    Outbox.Entry dropped = o.add(new TaskRejected("r1", "worker at maximum concurrency"), null);
    assertEquals("c1", dropped.message.taskId());
    assertEquals("r1", o.add(TaskCompleted.success("done2", null), null).message.taskId());
    assertNull(o.add(TaskCompleted.success("done3", null), null), "only terminal reports left: nothing droppable");
    List<String> order = new ArrayList<>();
    while (o.hasUnsent()) {
      order.add(o.nextUnsent(0).message.taskId());
    }
    assertEquals(List.of("done1", "x", "done2", "done3"), order);
    assertEquals(4, o.size());
  }

  @Test
  void writtenTerminalReportsAndChunksAreReplayedAfterABreakButNotClaims() {
    Outbox o = new Outbox(100, 10_000);
    o.add(new TaskLog("t", null, 0, "stdout", "a", 0, false, null), null);
    o.add(new TaskClaimed("t2", null, "w"), null);
    o.add(TaskCompleted.success("t", null), null);
    o.add(new TaskLog("t3", null, 0, "stdout", "b", 0, false, null), null);
    for (int i = 0; i < 4; i++) {
      o.nextUnsent(i);
    }
    o.confirmOldest();
    o.confirmOldest();
    o.confirmOldest();
    o.requeueInFlight();
    List<String> order = new ArrayList<>();
    while (o.hasUnsent()) {
      Outbox.Entry e = o.nextUnsent(0);
      order.add(e.message.type() + ":" + e.message.taskId());
    }
    assertEquals(List.of("task_log:t", "task_completed:t", "task_log:t3"), order);
  }

  @Test
  void replayWindowIsBoundedByBytes() {
    Outbox o = new Outbox(100, 200);
    for (int i = 0; i < 10; i++) {
      o.add(new TaskLog("t", null, i, "stdout", "x".repeat(50), 0, false, null), null);
      o.nextUnsent(0);
      o.confirmOldest();
    }
    o.requeueInFlight();
    assertEquals(1, o.size(), "only what fits in 200 bytes is kept for replay");
    assertEquals(9, ((TaskLog) o.nextUnsent(0).message).seq());
  }
}
