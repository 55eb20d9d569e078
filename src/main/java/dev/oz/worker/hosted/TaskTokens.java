package dev.oz.worker.hosted;

import io.vertx.core.Future;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Consumer;

/**
 * One task's identity token for the log collector: issued on first use, reused until shortly before it expires (a
 * minute, or a fifth of its life when shorter), one request at a time. A failed refresh keeps a token that is still
 * valid and tries again after 30 s. Call on one context.
 */
public final class TaskTokens {
  private static final Duration RETRY_AFTER_FAILED_REFRESH = Duration.ofSeconds(30);

  private final HostedOz hosted;
  private final TaskIdentity task;
  private final Consumer<String> onIssued;
  private volatile String token;
  private Instant expiresAt = Instant.MIN;
  private Instant refreshAt = Instant.MIN;
  private Future<String> pending;

  /** @param onIssued told each new token (to redact it) */
  public TaskTokens(HostedOz hosted, TaskIdentity task, Consumer<String> onIssued) {
    this.hosted = hosted;
    this.task = task;
    this.onIssued = onIssued;
  }

  /** The token to send now. */
  public Future<String> current() {
    Instant now = Instant.now();
    if (token != null && now.isBefore(refreshAt)) {
      return Future.succeededFuture(token);
    }
    if (pending == null) {
      pending = hosted.issueToken(task)
          .map(issued -> {
            onIssued.accept(issued.token());
            token = issued.token();
            expiresAt = issued.expiresAt();
            Duration life = Duration.between(Instant.now(), expiresAt);
            Duration margin = life.dividedBy(5).compareTo(Duration.ofMinutes(1)) < 0 ? life.dividedBy(5) : Duration.ofMinutes(1);
            refreshAt = expiresAt.minus(margin);
            return issued.token();
          })
          .recover(err -> {
            Instant at = Instant.now();
            if (token != null && at.isBefore(expiresAt)) {
              Instant retry = at.plus(RETRY_AFTER_FAILED_REFRESH);
              refreshAt = retry.isBefore(expiresAt) ? retry : expiresAt;
              return Future.succeededFuture(token);
            }
            return Future.failedFuture(err);
          })
          .andThen(ar -> pending = null);
      if (pending.isComplete()) {
        Future<String> done = pending;
        pending = null;
        return done;
      }
    }
    return pending;
  }

  /** The last token issued, or null; for the exporter's headers (read on its thread). */
  public String lastIssued() {
    return token;
  }
}
