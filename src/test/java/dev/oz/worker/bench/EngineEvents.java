package dev.oz.worker.bench;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.Event;
import com.github.dockerjava.api.model.EventType;
import java.io.Closeable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The engine's container events (create, start, die) with the engine's own timestamps, for both the worker's
 * containers and the baseline's. Each worker container is inspected as soon as it is created, so the baseline
 * can create exactly the same container (the worker removes it right after it exits).
 */
final class EngineEvents implements AutoCloseable {
  static final String TASK_LABEL = "oz.task.id";

  /** Epoch nanoseconds of one container's events; 0 until it happened. */
  static final class ContainerTimes {
    volatile long created;
    volatile long started;
    volatile long died;
    volatile InspectContainerResponse config;
  }

  private final DockerClient docker;
  private final String workerId;
  private final Map<String, ContainerTimes> byContainer = new ConcurrentHashMap<>();
  private final Map<String, String> containerOfTask = new ConcurrentHashMap<>();
  private final ExecutorService inspector = Executors.newFixedThreadPool(4);
  private final Closeable stream;

  EngineEvents(DockerClient docker, String workerId) {
    this.docker = docker;
    this.workerId = workerId;
    this.stream = docker.eventsCmd().withEventTypeFilter(EventType.CONTAINER)
        .withEventFilter("create", "start", "die")
        .exec(new ResultCallback.Adapter<Event>() {
          @Override
          public void onNext(Event e) {
            record(e);
          }
        });
  }

  private void record(Event e) {
    ContainerTimes t = byContainer.computeIfAbsent(e.getId(), id -> new ContainerTimes());
    long at = e.getTimeNano() != null ? e.getTimeNano() : e.getTime() * 1_000_000_000L;
    switch (e.getAction()) {
      case "create" -> {
        t.created = at;
        Map<String, String> attrs = e.getActor() == null ? Map.of() : e.getActor().getAttributes();
        if (attrs != null && workerId.equals(attrs.get("oz.worker.id")) && attrs.get(TASK_LABEL) != null) {
          containerOfTask.put(attrs.get(TASK_LABEL), e.getId());
          inspector.execute(() -> {
            try {
              t.config = docker.inspectContainerCmd(e.getId()).exec();
            } catch (RuntimeException gone) {
              // removed before we looked: the next task's container serves
            }
          });
        }
      }
      case "start" -> t.started = at;
      case "die" -> t.died = at;
      default -> { }
    }
  }

  /** The events of the worker's container for {@code taskId}, waiting briefly for them to arrive. */
  ContainerTimes ofTask(String taskId) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      String id = containerOfTask.get(taskId);
      if (id != null) {
        ContainerTimes t = byContainer.get(id);
        if (t.died != 0 && t.config != null) {
          return t;
        }
      }
      Bench.sleep(5);
    }
    throw new AssertionError("no complete engine events for task " + taskId);
  }

  /** The configuration of one of these tasks' containers (in a burst some are gone before inspect gets to them). */
  InspectContainerResponse configOfAny(List<String> taskIds) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      for (String taskId : taskIds) {
        String id = containerOfTask.get(taskId);
        ContainerTimes t = id == null ? null : byContainer.get(id);
        if (t != null && t.config != null) {
          return t.config;
        }
      }
      Bench.sleep(5);
    }
    throw new AssertionError("none of the containers of " + taskIds + " could be inspected");
  }

  /** The events of a container the baseline created, once it died. */
  ContainerTimes ofContainer(String containerId) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      ContainerTimes t = byContainer.get(containerId);
      if (t != null && t.died != 0) {
        return t;
      }
      Bench.sleep(5);
    }
    throw new AssertionError("no die event for container " + containerId);
  }

  /** How many of the worker's containers have started so far. */
  long workerStarts() {
    return containerOfTask.values().stream().map(byContainer::get).filter(t -> t != null && t.started != 0).count();
  }

  @Override
  public void close() throws Exception {
    stream.close();
    inspector.shutdownNow();
  }
}
