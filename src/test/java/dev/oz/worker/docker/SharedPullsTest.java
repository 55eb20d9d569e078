package dev.oz.worker.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** One pull for concurrent tasks, and an unreachable registry left alone for a while. */
class SharedPullsTest {
  private static final String REFUSED = "Status 500: {\"message\":\"Get \\\"http://127.0.0.1:1/v2/\\\": dial tcp 127.0.0.1:1: "
      + "connect: connection refused\"}";

  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final SharedPulls shared = new SharedPulls(now::get, Duration.ofSeconds(30));
  private final AtomicInteger started = new AtomicInteger();
  private final AtomicInteger closed = new AtomicInteger();
  private final List<Promise<Void>> pulls = new ArrayList<>();

  private Future<Void> pull(String key, CancelScope scope) {
    return shared.pull(key, "127.0.0.1:1", scope, () -> {
      started.incrementAndGet();
      Promise<Void> p = Promise.promise();
      pulls.add(p);
      return new SharedPulls.Started(p.future(), closed::incrementAndGet);
    });
  }

  @Test
  void twentyConcurrentTasksShareOnePull() {
    List<Future<Void>> waiting = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      waiting.add(pull("img as anonymous", new CancelScope()));
    }
    assertEquals(1, started.get());
    pulls.get(0).complete();
    assertTrue(waiting.stream().allMatch(Future::succeeded));
    pull("img as anonymous", new CancelScope());
    assertEquals(2, started.get(), "a success is not remembered: the next task asks the registry again");
  }

  @Test
  void differentCredentialsDoNotShare() {
    pull("img as anonymous", new CancelScope());
    pull("img as registry/user/123", new CancelScope());
    assertEquals(2, started.get());
  }

  @Test
  void anUnreachableRegistryIsNotAskedAgainWithinTheWindow() {
    List<Future<Void>> waiting = List.of(pull("a", new CancelScope()), pull("a", new CancelScope()));
    pulls.get(0).fail(new IllegalStateException(REFUSED));
    assertTrue(waiting.stream().allMatch(f -> f.failed() && f.cause().getMessage().contains("connection refused")));

    Future<Void> late = pull("a", new CancelScope());
    assertTrue(late.failed(), "a task that checked before the failure does not start another pull");
    assertEquals(1, started.get());

    now.addAndGet(Duration.ofSeconds(12).toNanos());
    Future<Void> skipped = shared.recentlyUnreachable("127.0.0.1:1");
    assertTrue(skipped.failed());
    assertEquals("registry 127.0.0.1:1 was unreachable 12 s ago (" + REFUSED + "); not asked again for 18 s",
        skipped.cause().getMessage());
    assertNull(shared.recentlyUnreachable("docker.io"), "other registries are asked");

    now.addAndGet(Duration.ofSeconds(18).toNanos());
    assertNull(shared.recentlyUnreachable("127.0.0.1:1"), "after the window the registry is asked again");
  }

  @Test
  void otherFailuresAreNotRemembered() {
    pull("a", new CancelScope());
    pulls.get(0).fail(new IllegalStateException("manifest for 127.0.0.1:1/x:latest not found: manifest unknown"));
    assertNull(shared.recentlyUnreachable("127.0.0.1:1"));
  }

  @Test
  void aCancelledTaskStopsWaitingAndThePullStopsWhenNobodyWaits() {
    CancelScope first = new CancelScope();
    CancelScope second = new CancelScope();
    Future<Void> a = pull("a", first);
    Future<Void> b = pull("a", second);
    first.cancel();
    assertTrue(a.failed());
    assertEquals(0, closed.get(), "the other task still waits");
    second.cancel();
    assertTrue(b.failed());
    assertEquals(1, closed.get());
    pull("a", new CancelScope());
    assertEquals(2, started.get(), "a stopped pull is not joined");
  }

  @Test
  void registryErrorsThatMeanUnreachable() {
    assertTrue(SharedPulls.isUnreachable(new RuntimeException(
        "Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host")));
    assertTrue(SharedPulls.isUnreachable(new RuntimeException("net/http: TLS handshake timeout")));
    assertTrue(!SharedPulls.isUnreachable(new RuntimeException("pull access denied for x, repository does not exist")));
  }
}
