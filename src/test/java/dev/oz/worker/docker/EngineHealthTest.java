package dev.oz.worker.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.exception.InternalServerErrorException;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.oz.worker.backend.Availability;
import dev.oz.worker.testing.LogCapture;
import dev.oz.worker.testing.TestVertx;
import dev.oz.worker.testing.Waits;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The engine health state machine against a scripted engine: what makes it change, what it tells, what it logs. */
class EngineHealthTest {
  private static final String ADDRESS = "unix:///run/test-engine.sock";
  private static final Duration WAIT = Duration.ofSeconds(5);

  private TestVertx testVertx;
  private Context context;
  private final ScriptedEngine engine = new ScriptedEngine();
  private final List<Availability> told = new CopyOnWriteArrayList<>();
  private final List<String> order = new CopyOnWriteArrayList<>();
  private EngineHealth health;
  private LogCapture logs;

  /** Answers pings as told; its event stream ends when the test says. */
  private final class ScriptedEngine implements EngineHealth.Probe {
    volatile boolean answering = true;
    final AtomicInteger pings = new AtomicInteger();
    final AtomicInteger watches = new AtomicInteger();
    volatile Promise<Void> stream;

    @Override
    public Future<Void> ping() {
      pings.incrementAndGet();
      return answering ? Future.succeededFuture()
          : Future.failedFuture(new UncheckedIOException(new IOException("Connection refused")));
    }

    @Override
    public Future<Void> watch() {
      watches.incrementAndGet();
      stream = Promise.promise();
      return stream.future();
    }

    void endStream() {
      on(() -> {
        stream.tryComplete();
        return null;
      });
    }
  }

  @BeforeEach
  void setUp() {
    logs = LogCapture.of(EngineHealth.class.getName());
    testVertx = TestVertx.create();
    context = testVertx.vertx().getOrCreateContext();
    on(() -> {
      health = new EngineHealth(testVertx.vertx(), ADDRESS, engine);
      health.onChange(told::add);
      health.onChange(a -> order.add(a.available() ? "told up" : "told down"));
      health.onReturn(() -> {
        order.add("renewed");
        return Future.succeededFuture();
      });
      health.start();
      return null;
    });
  }

  @AfterEach
  void tearDown() {
    on(() -> {
      health.close();
      return null;
    });
    testVertx.close();
    logs.close();
  }

  /** Runs on the health's context (where the backend uses it) and returns the result. */
  private <T> T on(Supplier<T> action) {
    CompletableFuture<T> result = new CompletableFuture<>();
    context.runOnContext(v -> {
      try {
        result.complete(action.get());
      } catch (RuntimeException e) {
        result.completeExceptionally(e);
      }
    });
    try {
      return result.get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private boolean up() {
    return on(() -> health.isUp());
  }

  @Test
  void whileUpNothingPolls() {
    Waits.sleep(1_500);
    assertEquals(0, engine.pings.get(), "no ping while nothing suggests the engine went away");
    assertEquals(1, engine.watches.get());
    assertTrue(up());
  }

  @Test
  void theEventStreamEndingWithTheEngineMarksItDownThenPingsNoticeItsReturn() {
    engine.answering = false;
    engine.endStream();
    Waits.until(() -> !up(), WAIT, () -> "still up");
    assertEquals(List.of(Availability.unavailable("docker engine unavailable",
        "Docker engine unreachable at " + ADDRESS + ": Connection refused")), told);
    assertEquals(1, (int) on(() -> health.outages()));
    assertFalse(on(() -> health.whenUp(Duration.ofMillis(50))).toCompletionStage().toCompletableFuture().join(),
        "a bounded wait ends while the engine stays away");

    // while down: pings with backoff, at most a second apart, not a busy loop
    int before = engine.pings.get();
    Waits.sleep(1_500);
    int during = engine.pings.get() - before;
    assertTrue(during >= 1 && during <= 6, during + " pings in 1.5 s");

    Future<Boolean> returned = on(() -> health.whenUp(Duration.ofMinutes(1)));
    Future<Void> back = on(() -> health.whenBack());
    engine.answering = true;
    long since = System.nanoTime();
    Waits.until(this::up, WAIT, () -> "still down");
    assertTrue(System.nanoTime() - since < EngineHealth.MAX_BACKOFF.toNanos() + 500_000_000L, "noticed within the backoff");
    Waits.until(() -> returned.isComplete() && back.isComplete(), WAIT, () -> "waiters not told");
    assertTrue(returned.result());
    assertEquals(List.of(false, true), told.stream().map(Availability::available).toList());
    assertEquals(2, engine.watches.get(), "the event stream is watched again");
    assertEquals(List.of("told down", "renewed", "told up"), order, "fresh connections before anyone uses the engine");

    // each change logged once
    assertEquals(1, logs.messages().stream().filter(m -> m.equals("WARN Docker engine unreachable at " + ADDRESS
        + ": Connection refused")).count(), logs.all());
    assertEquals(1, logs.messages().stream().filter(m -> m.matches("INFO Docker engine back after \\d+\\.\\ds")).count(),
        logs.all());
  }

  @Test
  void aClientErrorIsNoSuspicionButATransportOrServerErrorIsConfirmedByOnePing() {
    on(() -> {
      health.suspect(new NotFoundException("No such container"));
      return null;
    });
    assertEquals(0, engine.pings.get());
    on(() -> {
      health.suspect(new InternalServerErrorException("database not open"));
      return null;
    });
    Waits.until(() -> engine.pings.get() == 1, WAIT, () -> "a server error is not checked");
    assertTrue(up(), "the engine answered the ping");
    engine.answering = false;
    on(() -> {
      health.suspect(new RuntimeException(new IOException("Broken pipe")));
      health.suspect(new RuntimeException(new IOException("Broken pipe")));
      return null;
    });
    Waits.until(() -> !up(), WAIT, () -> "still up");
    assertEquals(1, told.size());
  }

  @Test
  void aStreamThatEndsWhileTheEngineAnswersIsReopenedWithoutATightLoop() {
    engine.endStream();
    Waits.until(() -> engine.watches.get() == 2, WAIT, () -> "not reopened");
    assertTrue(up());
    engine.endStream();
    Waits.sleep(300);
    assertEquals(2, engine.watches.get(), "a stream that ends at once is reopened only after a delay");
    Waits.until(() -> engine.watches.get() == 3, WAIT, () -> "not reopened after the delay");
    assertTrue(told.isEmpty(), "no change was announced: " + told);
  }
}
