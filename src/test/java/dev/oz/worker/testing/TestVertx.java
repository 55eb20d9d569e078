package dev.oz.worker.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.util.concurrent.TimeUnit;

/**
 * Vert.x for tests, with a short blocked-thread limit; {@link #close()} fails the test if the checker
 * reported anything while it ran. On Netty's epoll transport where it loads, as the command-line worker is.
 */
public final class TestVertx implements AutoCloseable {
  public static final String BLOCKED_THREAD_LOGGER = "io.vertx.core.impl.BlockedThreadChecker";
  /** Half the Vert.x default: real blocking calls (engine calls, waits) exceed it, CPU contention on 2 cores does not. */
  public static final long MAX_EVENT_LOOP_MS = 1000;

  private final Vertx vertx;
  private final LogCapture blocked;

  private TestVertx(VertxOptions options) {
    blocked = LogCapture.of(BLOCKED_THREAD_LOGGER);
    vertx = Vertx.vertx(options
        .setPreferNativeTransport(true)
        .setBlockedThreadCheckInterval(100)
        .setBlockedThreadCheckIntervalUnit(TimeUnit.MILLISECONDS)
        .setMaxEventLoopExecuteTime(MAX_EVENT_LOOP_MS)
        .setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS)
        // a stack trace with every warning, so a failure says what blocked
        .setWarningExceptionTime(MAX_EVENT_LOOP_MS)
        .setWarningExceptionTimeUnit(TimeUnit.MILLISECONDS));
  }

  public static TestVertx create() {
    return new TestVertx(new VertxOptions());
  }

  public static TestVertx create(VertxOptions options) {
    return new TestVertx(options);
  }

  public Vertx vertx() {
    return vertx;
  }

  /** Fails if any event loop was blocked beyond the limit so far. */
  public void assertNeverBlocked() {
    // only this Vert.x's limit: a library's own Vert.x (fabric8's mock API server) warns at its default 2000 ms
    String ours = "time limit is " + MAX_EVENT_LOOP_MS + " ms";
    assertTrue(blocked.messages().stream().noneMatch(m -> m.contains(ours)), () -> "event loop blocked:\n" + blocked.all());
  }

  /**
   * Undeploys the worker first, while its control plane (deployed on the same Vert.x) still listens, so its shutdown
   * does not wait for a flush that cannot happen; then closes as {@link #close()} does. A null or already undeployed
   * id is skipped.
   */
  public void closeAfterUndeploying(String deploymentId) throws Exception {
    if (deploymentId != null && vertx.deploymentIDs().contains(deploymentId)) {
      vertx.undeploy(deploymentId).await(20, TimeUnit.SECONDS);
    }
    close();
  }

  @Override
  public void close() {
    try {
      vertx.close().await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    } finally {
      blocked.close();
    }
    assertNeverBlocked();
  }
}
