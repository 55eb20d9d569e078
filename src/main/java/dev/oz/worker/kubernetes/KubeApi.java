package dev.oz.worker.kubernetes;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.ListOptions;
import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.api.model.EventList;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodList;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobList;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.http.AsyncBody;
import io.fabric8.kubernetes.client.http.HttpClient;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kubernetes API calls the backend makes, asynchronous all the way: requests go through fabric8's HTTP client
 * (on the worker's Vert.x) and complete on the backend's context, so no thread waits for the API server. Transient
 * errors (timeouts, 429, 500, 503, resets, refused connections, EOF) are retried with the Go worker's backoff: 1 s
 * doubling to 10 s, jitter 0.1, 6 attempts; each request has its own time limit.
 */
final class KubeApi {
  private static final Logger log = LoggerFactory.getLogger(KubeApi.class);
  static final int ATTEMPTS = 6;

  private final Vertx vertx;
  private final Context context;
  private final KubernetesClient client;
  private final HttpClient http;
  private final KubernetesSerialization json;
  private final String base;
  private final String namespace;
  private final Duration requestTimeout;
  private final Duration firstRetry;
  /** After the backend's shutdown: failures are final, nothing is retried on a closed client. */
  private volatile boolean closed;

  /** A failed API call: the HTTP status (0 when the request never got an answer) and the server's message. */
  static final class ApiException extends RuntimeException {
    final int code;

    ApiException(int code, String message, Throwable cause) {
      super(message, cause);
      this.code = code;
    }

    boolean notFound() {
      return code == 404;
    }

    boolean conflict() {
      return code == 409;
    }
  }

  KubeApi(Vertx vertx, Context context, KubernetesClient client, String namespace, Duration requestTimeout,
      Duration firstRetry) {
    this.vertx = vertx;
    this.context = context;
    this.client = client;
    this.http = client.getHttpClient();
    this.json = client.getKubernetesSerialization();
    String master = client.getMasterUrl().toString();
    this.base = master.endsWith("/") ? master.substring(0, master.length() - 1) : master;
    this.namespace = namespace;
    this.requestTimeout = requestTimeout;
    this.firstRetry = firstRetry;
  }

  void close() {
    closed = true;
  }

  String namespace() {
    return namespace;
  }

  /**
   * Builds the JSON mappers of every type the backend reads; blocking. The first use of each costs Jackson a second
   * of introspection that must not happen on the event loop.
   */
  static void warmUp(KubernetesSerialization json, Job sample) {
    json.unmarshal(json.asJson(sample), Job.class);
    for (Object empty : List.of(new JobList(), new PodList(), new EventList(), new Status(), new Pod())) {
      json.unmarshal(json.asJson(empty), empty.getClass());
    }
  }

  private String jobs() {
    return "/apis/batch/v1/namespaces/" + namespace + "/jobs";
  }

  private String pods() {
    return "/api/v1/namespaces/" + namespace + "/pods";
  }

  static String query(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  /** The API server's version ({@code gitVersion}), proving it is reachable with these credentials. */
  Future<String> version() {
    return retrying("get server version", () -> send("GET", "/version", null, null)
        .map(body -> new JsonObject(body).getString("gitVersion", "unknown")));
  }

  /** One unretried request to the API server, for readiness probes (which must answer quickly). */
  Future<Void> ping() {
    return send("GET", "/version", null, null).mapEmpty();
  }

  /** Creates a Job; a create that reached the server before a retry finds its Job there (409 then means done). */
  Future<Job> createJob(Job job) {
    String body = json.asJson(job);
    boolean[] retried = {false};
    return retrying("create Job " + job.getMetadata().getName(), () -> {
      Future<Job> attempt = send("POST", jobs(), "application/json", body).map(b -> json.unmarshal(b, Job.class));
      boolean retry = retried[0];
      retried[0] = true;
      return !retry ? attempt : attempt.recover(err -> err instanceof ApiException a && a.conflict()
          ? getJob(job.getMetadata().getName()).compose(found -> found != null && sameExecution(found, job)
              ? Future.succeededFuture(found) : Future.failedFuture(err))
          : Future.failedFuture(err));
    });
  }

  private static boolean sameExecution(Job a, Job b) {
    String ours = b.getMetadata().getLabels().get(Labels.EXECUTION_HASH);
    return a.getMetadata().getLabels() != null && ours != null && ours.equals(a.getMetadata().getLabels().get(Labels.EXECUTION_HASH));
  }

  /** The Job, or null when there is none. */
  Future<Job> getJob(String name) {
    return retrying("get Job " + name, () -> send("GET", jobs() + "/" + name, null, null)
        .map(b -> json.unmarshal(b, Job.class))
        .recover(err -> err instanceof ApiException a && a.notFound() ? Future.succeededFuture(null)
            : Future.failedFuture(err)));
  }

  Future<JobList> listJobs(String labelSelector) {
    return retrying("list Jobs", () -> send("GET", jobs() + "?labelSelector=" + query(labelSelector), null, null)
        .map(b -> json.unmarshal(b, JobList.class)));
  }

  Future<PodList> listPods(String labelSelector) {
    return retrying("list pods", () -> send("GET", pods() + "?labelSelector=" + query(labelSelector), null, null)
        .map(b -> json.unmarshal(b, PodList.class)));
  }

  /** Events of one object (by uid). */
  Future<List<Event>> listEvents(String uid) {
    return retrying("list events", () -> send("GET", "/api/v1/namespaces/" + namespace + "/events?fieldSelector="
        + query("involvedObject.uid=" + uid), null, null)
        .map(b -> json.unmarshal(b, EventList.class).getItems()));
  }

  /**
   * Deletes a Job (absent counts as deleted).
   *
   * @param propagation {@code Background} or {@code Foreground}
   * @param uid a precondition: only this very Job, not a newer one of the same name; null for none
   */
  Future<Void> deleteJob(String name, String propagation, String uid) {
    JsonObject options = new JsonObject().put("kind", "DeleteOptions").put("apiVersion", "v1")
        .put("propagationPolicy", propagation);
    if (uid != null) {
      options.put("preconditions", new JsonObject().put("uid", uid));
    }
    return retrying("delete Job " + name, () -> send("DELETE", jobs() + "/" + name, "application/json", options.encode())
        .<Void>mapEmpty()
        .recover(err -> err instanceof ApiException a && a.notFound() ? Future.succeededFuture()
            : Future.failedFuture(err)));
  }

  /** Sets annotations on the Job with this uid (the uid fences the patch; absent counts as done), retried. */
  Future<Void> annotateJob(String name, String uid, java.util.Map<String, String> annotations) {
    JsonObject patch = new JsonObject().put("metadata", new JsonObject().put("uid", uid).put("annotations",
        new JsonObject(new java.util.LinkedHashMap<>(annotations))));
    return retrying("annotate Job " + name, () -> mergePatchJob(name, patch).<Void>mapEmpty()
        .recover(err -> err instanceof ApiException a && a.notFound() ? Future.succeededFuture()
            : Future.failedFuture(err)));
  }

  /** One merge patch of a Job, not retried: the caller decides what a conflict means. */
  Future<Job> mergePatchJob(String name, JsonObject patch) {
    return send("PATCH", jobs() + "/" + name, "application/merge-patch+json", patch.encode())
        .map(b -> json.unmarshal(b, Job.class));
  }

  /**
   * Follows one container's log until it ends, delivering bytes as they come (on an HTTP client thread: the consumer
   * must not block). The returned future completes when the stream ends, either way.
   *
   * @param sinceTime only output from then on (RFC 3339, a resumed follow), or null for all of it
   * @param canceller receives what closes the stream, once it is open
   */
  Future<Void> followLog(String pod, String container, String sinceTime, Consumer<ByteBuffer> bytes,
      Supplier<Boolean> stopped, Consumer<Runnable> canceller) {
    String path = pods() + "/" + pod + "/log?container=" + query(container) + "&follow=true"
        + (sinceTime != null ? "&sinceTime=" + query(sinceTime) : "");
    HttpRequest request = http.newHttpRequestBuilder().uri(base + path).forStreaming().build();
    Promise<Void> done = Promise.promise();
    CompletableFuture<HttpResponse<AsyncBody>> response = http.consumeBytes(request, (buffers, body) -> {
      if (stopped.get()) {
        body.cancel();
        return;
      }
      buffers.forEach(bytes);
      body.consume();
    });
    response.whenComplete((r, err) -> {
      if (err != null) {
        done.tryFail(err);
      } else if (!r.isSuccessful()) {
        r.body().cancel();
        done.tryFail(new ApiException(r.code(), "log of " + pod + "/" + container + ": HTTP " + r.code(), null));
      } else {
        // an idle stream (a sidecar that outlives the task) must be closable, not only a talking one
        canceller.accept(() -> r.body().cancel());
        r.body().consume();
        r.body().done().whenComplete((v, e) -> {
          if (e != null) {
            done.tryFail(e);
          } else {
            done.tryComplete();
          }
        });
      }
    });
    return done.future();
  }

  /**
   * Watches the Job named {@code name} from {@code resourceVersion}; the watcher runs on fabric8's callback executor.
   * Opening is retried and time-limited; an open watch lives until closed.
   */
  Future<Watch> watchJob(String name, String resourceVersion, Watcher<Job> watcher) {
    ListOptions options = new ListOptionsBuilder().withFieldSelector("metadata.name=" + name)
        .withResourceVersion(resourceVersion).withAllowWatchBookmarks(true).build();
    return retrying("watch Job " + name, () -> blocking(() -> client.batch().v1().jobs().inNamespace(namespace)
        .watch(options, watcher)));
  }

  Future<Watch> watchPods(String labelSelector, String resourceVersion, Watcher<Pod> watcher) {
    ListOptions options = new ListOptionsBuilder().withLabelSelector(labelSelector)
        .withResourceVersion(resourceVersion).withAllowWatchBookmarks(true).build();
    return retrying("watch pods", () -> blocking(() -> client.pods().inNamespace(namespace).watch(options, watcher)));
  }

  /** fabric8's watch() waits for the connection: run it off the event loop, bounded by the request timeout. */
  private <T> Future<T> blocking(java.util.concurrent.Callable<T> call) {
    Future<T> f;
    try {
      f = context.executeBlocking(call, false);
    } catch (RejectedExecutionException e) {
      return Future.failedFuture(new ApiException(0, "worker is shutting down", e)); // Vert.x is closing
    }
    Promise<T> p = Promise.promise();
    long timer = vertx.setTimer(requestTimeout.toMillis(), id -> p.tryFail(new ApiException(0, "timed out after "
        + requestTimeout.toSeconds() + "s", new TimeoutException())));
    f.onComplete(ar -> {
      vertx.cancelTimer(timer);
      if (ar.succeeded() && !p.tryComplete(ar.result()) && ar.result() instanceof Watch late) {
        late.close(); // opened after we gave up on it
      } else if (ar.failed()) {
        p.tryFail(wrap(ar.cause()));
      }
    });
    return p.future();
  }

  private Future<String> send(String method, String path, String contentType, String body) {
    HttpRequest.Builder b = http.newHttpRequestBuilder().uri(base + path)
        .timeout(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
    if (body != null) {
      b.method(method, contentType, body);
    } else if (!"GET".equals(method)) {
      b.method(method, null, (String) null);
    }
    CompletableFuture<HttpResponse<String>> sent;
    try {
      sent = http.sendAsync(b.build(), String.class);
    } catch (RuntimeException e) {
      return Future.failedFuture(wrap(e));
    }
    Promise<String> p = Promise.promise();
    sent.whenComplete((r, err) -> context.runOnContext(v -> {
      if (err != null) {
        p.fail(wrap(err));
      } else if (r.isSuccessful()) {
        p.complete(r.body());
      } else {
        p.fail(new ApiException(r.code(), method + " " + path + ": " + statusMessage(r), null));
      }
    }));
    return p.future();
  }

  private String statusMessage(HttpResponse<String> r) {
    try {
      Status s = json.unmarshal(r.body(), Status.class);
      if (s != null && s.getMessage() != null) {
        return s.getMessage() + " (HTTP " + r.code() + ")";
      }
    } catch (RuntimeException ignored) {
      // not a Status object
    }
    return "HTTP " + r.code();
  }

  private static Throwable wrap(Throwable err) {
    Throwable t = err instanceof java.util.concurrent.CompletionException && err.getCause() != null ? err.getCause() : err;
    if (t instanceof ApiException) {
      return t;
    }
    if (t instanceof io.fabric8.kubernetes.client.KubernetesClientException k && k.getCode() > 0) {
      return new ApiException(k.getCode(), k.getMessage(), k);
    }
    return new ApiException(0, String.valueOf(t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage()), t);
  }

  /** Whether a failed call is worth retrying (GO-WORKER-NEWER.md section 10). */
  static boolean transientError(Throwable err) {
    if (err instanceof ApiException a && a.code > 0) {
      return a.code == 429 || a.code == 500 || a.code == 503 || a.code == 504;
    }
    for (Throwable t = err; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof TimeoutException || t instanceof java.net.SocketTimeoutException || t instanceof EOFException
          || t instanceof ConnectException || t instanceof java.nio.channels.ClosedChannelException
          || t instanceof io.vertx.core.http.HttpClosedException
          || (t instanceof IOException io && io.getMessage() != null && io.getMessage().contains("reset"))) {
        return true;
      }
    }
    return err instanceof ApiException a && a.code == 0;
  }

  /** Runs {@code attempt}, retrying transient failures with the Go worker's backoff. */
  <T> Future<T> retrying(String what, Supplier<Future<T>> attempt) {
    return attempt(what, attempt, 1);
  }

  private <T> Future<T> attempt(String what, Supplier<Future<T>> attempt, int n) {
    return attempt.get().recover(err -> {
      if (n >= ATTEMPTS || closed || !transientError(err)) {
        return Future.failedFuture(err);
      }
      long delay = delayMs(n);
      log.warn("Retrying transient Kubernetes API error ({}, attempt {} of {}, next in {} ms): {}", what, n, ATTEMPTS,
          delay, err.getMessage());
      Promise<T> next = Promise.promise();
      vertx.setTimer(delay, id -> attempt(what, attempt, n + 1).onComplete(next));
      return next.future();
    });
  }

  /** 1, 2, 4, 8, 10 × the first delay (capped at ten times it), each plus up to 10 % jitter. */
  long delayMs(int attempt) {
    long base = firstRetry.toMillis();
    long d = Math.min(base * (1L << (attempt - 1)), base * 10);
    return d + (long) (d * 0.1 * ThreadLocalRandom.current().nextDouble());
  }
}
