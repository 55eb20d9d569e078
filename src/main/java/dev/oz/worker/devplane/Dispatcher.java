package dev.oz.worker.devplane;

import dev.oz.worker.devplane.DevTask.State;
import dev.oz.worker.protocol.ServerMessage;
import dev.oz.worker.protocol.TaskCancellation;
import dev.oz.worker.protocol.TaskClaimed;
import dev.oz.worker.protocol.TaskCompleted;
import dev.oz.worker.protocol.TaskFailed;
import dev.oz.worker.protocol.TaskLog;
import dev.oz.worker.protocol.TaskRejected;
import dev.oz.worker.protocol.WorkerMessage;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who runs what: the tasks, the connected workers, round-robin offers, and re-queueing a task a worker
 * rejected. Speaks protocol records only; the HTTP side turns them into frames. Used on one event loop.
 */
final class Dispatcher {
  private static final Logger log = LoggerFactory.getLogger(Dispatcher.class);
  private static final long RETRY_AFTER_REJECT_MS = 1_000;

  /** A connected worker and the way to send it a message. */
  record Worker(String id, Consumer<ServerMessage> send) {
  }

  private final Vertx vertx;
  private final Map<String, DevTask> tasks = new LinkedHashMap<>();
  private final List<Worker> workers = new ArrayList<>();
  private int nextWorker;
  private long retryTimer = -1;

  Dispatcher(Vertx vertx) {
    this.vertx = vertx;
  }

  Collection<DevTask> tasks() {
    return tasks.values();
  }

  DevTask task(String id) {
    return tasks.get(id);
  }

  void submit(DevTask t) {
    tasks.put(t.id, t);
    log.info("Task {} submitted", t.id);
    dispatch();
  }

  /** Cancels a task that has not finished: at once if no worker has it, else by asking its worker. */
  void cancel(DevTask t) {
    if (t.state == State.QUEUED && !t.offered) {
      t.message = "cancelled before it was assigned";
      t.setState(State.CANCELLED);
      return;
    }
    workers.stream().filter(w -> w.id().equals(t.workerId)).forEach(w -> w.send().accept(new TaskCancellation(t.id, "")));
  }

  void connected(Worker w) {
    workers.add(w);
    log.info("Worker {} connected ({} connected)", w.id(), workers.size());
    dispatch();
  }

  void disconnected(Worker w) {
    workers.remove(w);
    log.info("Worker {} disconnected ({} connected)", w.id(), workers.size());
    // an offer nobody answered goes to the next worker; claimed tasks stay with theirs (it reports on reconnect)
    tasks.values().stream().filter(t -> t.offered && w.id().equals(t.workerId)).forEach(t -> t.offered = false);
    dispatch();
  }

  void onMessage(Worker w, WorkerMessage message) {
    DevTask t = tasks.get(message.taskId());
    if (t == null) {
      return;
    }
    if (message instanceof TaskClaimed m) {
      t.offered = false;
      t.workerId = m.workerId().isEmpty() ? w.id() : m.workerId();
      t.claimed();
      if (!t.state.finished()) {
        t.setState(State.CLAIMED);
      }
    } else if (message instanceof TaskRejected m) {
      log.info("Worker {} rejected task {} ({}); re-queueing it", w.id(), t.id, m.reason());
      t.rejectedBy.add(w.id());
      t.offered = false;
      t.workerId = null;
      t.nextDispatchNanos = System.nanoTime() + RETRY_AFTER_REJECT_MS * 1_000_000;
      t.setState(State.QUEUED);
      dispatch();
    } else if (message instanceof TaskLog m) {
      t.addChunk(m);
    } else if (message instanceof TaskCompleted m) {
      t.message = m.message();
      t.setState(TaskCompleted.CANCELLED.equals(m.taskState()) ? State.CANCELLED : State.SUCCEEDED);
      dispatch();
    } else if (message instanceof TaskFailed m) {
      t.message = m.message();
      t.failureReason = m.failureReason().isEmpty() ? null : m.failureReason();
      t.exitCode = m.exitCode() == 0 ? null : m.exitCode(); // 0 is never sent: it means none
      t.setState(State.FAILED);
      dispatch();
    }
  }

  /** Offers queued tasks to workers, round-robin, skipping workers that rejected the task. */
  private void dispatch() {
    long now = System.nanoTime();
    long earliestRetry = Long.MAX_VALUE;
    for (DevTask t : tasks.values()) {
      if (t.state != State.QUEUED || t.offered || workers.isEmpty()) {
        continue;
      }
      if (t.nextDispatchNanos > now) {
        earliestRetry = Math.min(earliestRetry, t.nextDispatchNanos);
        continue;
      }
      Worker chosen = null;
      for (int i = 0; i < workers.size() && chosen == null; i++) {
        Worker candidate = workers.get((nextWorker + i) % workers.size());
        if (!t.rejectedBy.contains(candidate.id())) {
          chosen = candidate;
          nextWorker = (nextWorker + i + 1) % workers.size();
        }
      }
      if (chosen == null) {
        // everyone said no: ask again later, maybe a slot has freed
        t.rejectedBy.clear();
        t.nextDispatchNanos = now + RETRY_AFTER_REJECT_MS * 1_000_000;
        earliestRetry = Math.min(earliestRetry, t.nextDispatchNanos);
        continue;
      }
      t.workerId = chosen.id();
      t.offered = true; // stays queued until the worker claims or rejects it
      chosen.send().accept(t.assignment());
    }
    if (earliestRetry != Long.MAX_VALUE && retryTimer < 0) {
      retryTimer = vertx.setTimer(Math.max(1, (earliestRetry - now) / 1_000_000), id -> {
        retryTimer = -1;
        dispatch();
      });
    }
  }
}
