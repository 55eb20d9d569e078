package dev.oz.worker.kubernetes;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * fabric8's Kubernetes mock API server in CRUD mode plus what a real cluster's controllers would do, driven by the
 * test: the Job controller's pods (labels, owner), the kubelet's pod phases and container states, Job conditions,
 * events, and pod logs (served for the {@code log} subresource). It also records every API verb the worker uses (for
 * the chart's Role), can fail requests with a status (503 bursts) and can drop open watches.
 */
final class MockCluster implements AutoCloseable {
  static final String NAMESPACE = "agents";
  private static final Pattern RESOURCE = Pattern.compile(
      "^/(?:api/v1|apis/([a-z0-9.]+)/v1)/namespaces/[^/]+/([a-z]+)(?:/([^/?]+))?(?:/([a-z]+))?(?:\\?(.*))?$");
  private static final Pattern LOG = Pattern.compile("^/api/v1/namespaces/[^/]+/pods/([^/]+)/log\\?(.*)$");
  private static final Pattern EVENTS_OF = Pattern.compile(
      "^(/api/v1/namespaces/[^/]+/events)\\?fieldSelector=involvedObject\\.uid%3D([^&]+)$");
  /** The worker's credentials in {@link #kubeconfig}: its requests are the ones recorded. */
  static final String WORKER_TOKEN = "worker-token";

  private final KubernetesCrudDispatcher crud = new KubernetesCrudDispatcher();
  private final KubernetesMockServer server;
  private final KubernetesClient client;
  private final Set<String> verbs = ConcurrentHashMap.newKeySet();
  private final List<Fault> faults = new CopyOnWriteArrayList<>();
  private final List<WebSocket> watches = new CopyOnWriteArrayList<>();
  private final Map<String, String> logs = new ConcurrentHashMap<>();
  private volatile boolean holdLogs;
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  private final AtomicInteger podSuffix = new AtomicInteger();
  /**
   * The CRUD watch listener shuts its executor down and waits for it when a watch closes, and only then leaves the
   * dispatcher's list; a change dispatched in between would schedule an event on the shut executor and fail. So a
   * closing listener first leaves the list, taking turns with the changes, and waits for its executor afterwards, on
   * a thread of its own and with no turn held: that executor may be finishing a write only a mock server event loop
   * can complete, and a change waiting for the turn would hold that event loop (a deadlock until the write's 30 s).
   */
  private final java.util.concurrent.ExecutorService closer = java.util.concurrent.Executors.newCachedThreadPool();
  private final java.util.concurrent.locks.ReentrantLock turns = new java.util.concurrent.locks.ReentrantLock();
  private final Set<?> listening = watchListeners(crud);

  /** A request the worker sent, its body kept (the CRUD handler consumes the original). */
  record Request(String method, String path, String contentType, String body) {
  }

  private record Fault(Predicate<RecordedRequest> matches, int code, AtomicInteger remaining) {
  }

  /** The mock server logs every request at INFO through java.util.logging; held here so the level sticks. */
  private static final java.util.logging.Logger MOCK_SERVER_LOG = quiet("io.fabric8.mockwebserver");

  private static java.util.logging.Logger quiet(String name) {
    java.util.logging.Logger logger = java.util.logging.Logger.getLogger(name);
    logger.setLevel(java.util.logging.Level.WARNING);
    return logger;
  }

  MockCluster() {
    server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), new Recording(), false);
    server.init();
    client = server.createClient();
  }

  /** A kubeconfig pointing at this server, as an operator would pass with {@code kubeconfig}. */
  Path kubeconfig(Path dir) throws Exception {
    String url = client.getMasterUrl().toString();
    return Files.writeString(dir.resolve("kubeconfig"), """
        apiVersion: v1
        kind: Config
        clusters: [{name: mock, cluster: {server: "%s"}}]
        users: [{name: worker, user: {token: %s}}]
        contexts: [{name: mock, context: {cluster: mock, user: worker, namespace: %s}}]
        current-context: mock
        """.formatted(url, WORKER_TOKEN, NAMESPACE));
  }

  KubernetesClient client() {
    return client;
  }

  /** {@code verb resource} pairs the worker used, e.g. {@code create jobs}, {@code get pods/log}. */
  Set<String> verbs() {
    return new TreeSet<>(verbs);
  }

  /** The worker's requests, in order. */
  List<Request> requests() {
    return List.copyOf(requests);
  }

  /** The next {@code times} requests matching {@code method} and a path prefix fail with {@code code}. */
  void fail(String method, String pathPrefix, int code, int times) {
    faults.add(new Fault(r -> worker(r) && r.getMethod().equals(method) && r.getPath().startsWith(pathPrefix), code,
        new AtomicInteger(times)));
  }

  /** How many injected failures are still to be served. */
  int faultsPending() {
    return faults.stream().mapToInt(f -> Math.max(0, f.remaining().get())).sum();
  }

  /** Closes every open watch, as a load balancer or an API server restart would. */
  int dropWatches() {
    int n = 0;
    for (WebSocket ws : watches) {
      if (ws.close(1000, "dropped by the test")) {
        n++;
      }
    }
    watches.clear();
    return n;
  }

  // ---- the Job controller and the kubelet ----

  /** Waits for a Job whose name starts with {@code prefix}. */
  Job awaitJob(String prefix, Duration timeout) {
    long end = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < end) {
      for (Job j : client.batch().v1().jobs().inNamespace(NAMESPACE).list().getItems()) {
        if (j.getMetadata().getName().startsWith(prefix)) {
          return j;
        }
      }
      sleep(20);
    }
    throw new AssertionError("no Job " + prefix + "* within " + timeout);
  }

  Job job(String name) {
    return client.batch().v1().jobs().inNamespace(NAMESPACE).withName(name).get();
  }

  /** The Job controller's pod for {@code job}: template labels plus job-name and controller-uid, owned by the Job. */
  Pod createPod(Job job, Instant created) {
    Map<String, String> labels = new HashMap<>(job.getSpec().getTemplate().getMetadata().getLabels());
    labels.put("job-name", job.getMetadata().getName());
    labels.put(JobExpiry.CONTROLLER_UID, job.getMetadata().getUid());
    Pod pod = new PodBuilder()
        .withNewMetadata().withName(job.getMetadata().getName() + "-" + "abcde".substring(0, 4) + podSuffix.incrementAndGet())
        .withNamespace(NAMESPACE).withLabels(labels).withUid(UUID.randomUUID().toString())
        .withCreationTimestamp(created.truncatedTo(ChronoUnit.SECONDS).toString())
        .addNewOwnerReference().withApiVersion("batch/v1").withKind("Job").withName(job.getMetadata().getName())
        .withUid(job.getMetadata().getUid()).withController(true).endOwnerReference()
        .endMetadata()
        .withSpec(job.getSpec().getTemplate().getSpec())
        .withNewStatus().withPhase("Pending").endStatus()
        .build();
    return client.pods().inNamespace(NAMESPACE).resource(pod).create();
  }

  /** Replaces the pod's status (the kubelet's report). */
  Pod podStatus(Pod pod, UnaryOperator<PodStatus> change) {
    Pod current = client.pods().inNamespace(NAMESPACE).withName(pod.getMetadata().getName()).get();
    current.setStatus(change.apply(current.getStatus()));
    return client.pods().inNamespace(NAMESPACE).resource(current).updateStatus();
  }

  /** Adds a Job condition (Complete, Failed, FailureTarget) with status True. */
  Job jobCondition(Job job, String type, String reason, String message) {
    Job current = job(job.getMetadata().getName());
    if (current.getStatus() == null) {
      current.setStatus(new io.fabric8.kubernetes.api.model.batch.v1.JobStatus());
    }
    current.getStatus().getConditions().add(new JobConditionBuilder().withType(type).withStatus("True")
        .withReason(reason).withMessage(message).withLastTransitionTime(now()).build());
    return client.batch().v1().jobs().inNamespace(NAMESPACE).resource(current).updateStatus();
  }

  /** An event about {@code uid}. */
  Event event(String kind, String name, String uid, String type, String reason, String message, Instant first,
      Instant last, int count) {
    Event e = new EventBuilder().withNewMetadata().withName(name + "." + UUID.randomUUID()).withNamespace(NAMESPACE)
        .endMetadata()
        .withInvolvedObject(new ObjectReferenceBuilder().withKind(kind).withName(name).withUid(uid).withNamespace(NAMESPACE).build())
        .withType(type).withReason(reason).withMessage(message).withCount(count)
        .withFirstTimestamp(first.toString()).withLastTimestamp(last.toString())
        .build();
    return client.v1().events().inNamespace(NAMESPACE).resource(e).create();
  }

  /** Log follows stay open (as for a container that keeps running) instead of ending at once. */
  void holdLogs(boolean hold) {
    holdLogs = hold;
  }

  /** What {@code GET pods/<pod>/log?container=<c>} returns. */
  void log(Pod pod, String container, String text) {
    logs.put(pod.getMetadata().getName() + "/" + container, text);
  }

  static String now() {
    return Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
  }

  static ContainerStatus running(String name, Instant started) {
    return new ContainerStatusBuilder().withName(name).withNewState().withNewRunning()
        .withStartedAt(started.toString()).endRunning().endState().build();
  }

  static ContainerStatus terminated(String name, int exit, String reason, Instant started, Instant finished) {
    return new ContainerStatusBuilder().withName(name).withNewState().withNewTerminated().withExitCode(exit)
        .withReason(reason).withStartedAt(started.toString()).withFinishedAt(finished.toString()).endTerminated()
        .endState().build();
  }

  static ContainerStatus waiting(String name, String reason, String message) {
    return new ContainerStatusBuilder().withName(name).withNewState().withNewWaiting().withReason(reason)
        .withMessage(message).endWaiting().endState().build();
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    client.close();
    server.destroy();
    closer.shutdownNow();
  }

  private static boolean worker(RecordedRequest r) {
    String auth = r.getHeader("Authorization");
    return auth != null && auth.equals("Bearer " + WORKER_TOKEN);
  }

  /** CRUD, with the verbs recorded, faults injected, watches tracked, logs and the version served. */
  private final class Recording extends Dispatcher {
    @Override
    public MockResponse dispatch(RecordedRequest original) {
      byte[] body = original.getBody() == null ? new byte[0] : original.getBody().readByteArray();
      RecordedRequest request = new RecordedRequest(original.getHttpVersion(), original.method(), original.getPath(),
          original.getHeaders(), new io.fabric8.mockwebserver.http.Buffer(body));
      String path = request.getPath();
      if (worker(request)) {
        requests.add(new Request(request.getMethod(), path, request.getHeader("Content-Type"),
            new String(body, java.nio.charset.StandardCharsets.UTF_8)));
        record(request);
      }
      for (Fault f : faults) {
        if (f.matches().test(request) && f.remaining().getAndDecrement() > 0) {
          return new MockResponse().setResponseCode(f.code()).setBody("{\"kind\":\"Status\",\"apiVersion\":\"v1\","
              + "\"status\":\"Failure\",\"message\":\"injected by the test\",\"code\":" + f.code() + "}");
        }
      }
      if (path.startsWith("/version")) {
        return new MockResponse().setResponseCode(200).setBody("{\"major\":\"1\",\"minor\":\"34\",\"gitVersion\":\"v1.34.0-mock\"}");
      }
      Matcher log = LOG.matcher(path);
      if (log.matches()) {
        String container = query(log.group(2), "container");
        String text = logs.get(log.group(1) + "/" + container);
        if (text == null) {
          return new MockResponse().setResponseCode(404).setBody("{}");
        }
        MockResponse ok = new MockResponse().setResponseCode(200).setBody(text);
        return holdLogs ? ok.setBodyDelay(Duration.ofMinutes(5)) : ok;
      }
      Matcher eventsOf = EVENTS_OF.matcher(path);
      if (eventsOf.matches()) {
        // the CRUD store filters by name and labels only; the API server also by involvedObject.uid
        String uid = java.net.URLDecoder.decode(eventsOf.group(2), java.nio.charset.StandardCharsets.UTF_8);
        io.fabric8.kubernetes.api.model.EventList all = client.getKubernetesSerialization().unmarshal(
            crud.dispatch(new RecordedRequest(request.getHttpVersion(), request.method(), eventsOf.group(1),
                request.getHeaders(), new io.fabric8.mockwebserver.http.Buffer())).getBody().readUtf8(),
            io.fabric8.kubernetes.api.model.EventList.class);
        all.setItems(all.getItems().stream().filter(e -> uid.equals(e.getInvolvedObject().getUid())).toList());
        return new MockResponse().setResponseCode(200).setBody(client.getKubernetesSerialization().asJson(all));
      }
      MockResponse response;
      if (request.getMethod().equals("GET")) {
        response = crud.dispatch(request);
      } else {
        turns.lock();
        try {
          response = crud.dispatch(request);
        } finally {
          turns.unlock();
        }
      }
      WebSocketListener listener = response.getWebSocketListener();
      if (listener != null) {
        response.withWebSocketUpgrade(new Tracked(listener));
      }
      return response;
    }

    private void record(RecordedRequest request) {
      String path = request.getPath();
      if (path.startsWith("/version")) {
        verbs.add("get /version");
        return;
      }
      Matcher m = RESOURCE.matcher(path);
      if (!m.matches()) {
        verbs.add(request.getMethod() + " " + path);
        return;
      }
      String resource = (m.group(1) == null ? "" : m.group(1) + "/") + m.group(2) + (m.group(4) == null ? "" : "/" + m.group(4));
      boolean named = m.group(3) != null;
      String q = m.group(5) == null ? "" : m.group(5);
      String verb = switch (request.getMethod()) {
        case "POST" -> "create";
        case "DELETE" -> "delete";
        case "PATCH" -> "patch";
        case "PUT" -> "update";
        default -> q.contains("watch=true") ? "watch" : named ? "get" : "list";
      };
      verbs.add(verb + " " + resource);
    }

    private String query(String q, String name) {
      for (String part : q.split("&")) {
        if (part.startsWith(name + "=")) {
          return java.net.URLDecoder.decode(part.substring(name.length() + 1), java.nio.charset.StandardCharsets.UTF_8);
        }
      }
      return null;
    }
  }

  /** The CRUD watch, with its socket kept so the test can drop it. */
  private final class Tracked extends WebSocketListener {
    private final WebSocketListener inner;

    Tracked(WebSocketListener inner) {
      this.inner = inner;
    }

    @Override
    public void onOpen(WebSocket ws, Response response) {
      watches.add(ws);
      inner.onOpen(ws, response);
    }

    @Override
    public void onMessage(WebSocket ws, String text) {
      inner.onMessage(ws, text);
    }

    @Override
    public void onClosing(WebSocket ws, int code, String reason) {
      watches.remove(ws);
      closer.execute(() -> inner.onClosing(ws, code, reason));
    }

    @Override
    public void onClosed(WebSocket ws, int code, String reason) {
      watches.remove(ws);
      closer.execute(() -> leaveThen(() -> inner.onClosed(ws, code, reason)));
    }

    @Override
    public void onFailure(WebSocket ws, Throwable t, Response response) {
      watches.remove(ws);
      closer.execute(() -> leaveThen(() -> inner.onFailure(ws, t, response)));
    }

    private void leaveThen(Runnable shutDown) {
      turns.lock();
      try {
        listening.remove(inner);
      } finally {
        turns.unlock();
      }
      shutDown.run();
    }
  }

  /** The CRUD dispatcher's watch listeners (private in fabric8 8.0.0; a concurrent set). */
  private static Set<?> watchListeners(KubernetesCrudDispatcher crud) {
    try {
      java.lang.reflect.Field f = KubernetesCrudDispatcher.class.getDeclaredField("watchEventListeners");
      f.setAccessible(true);
      return (Set<?>) f.get(crud);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("fabric8's mock server changed: no watchEventListeners", e);
    }
  }

  static List<ContainerStatus> list(ContainerStatus... statuses) {
    return new ArrayList<>(List.of(statuses));
  }
}
