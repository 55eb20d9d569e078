package dev.oz.worker.kubernetes;

import dev.oz.worker.backend.MetadataEnv;
import dev.oz.worker.backend.AdoptedTask;
import dev.oz.worker.backend.BackendContext;
import dev.oz.worker.backend.CancelReason;
import dev.oz.worker.backend.TaskBackend;
import dev.oz.worker.backend.TaskDescription;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.backend.TaskOutput;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.protocol.FailureReason;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.vertx5.Vertx5HttpClientFactory;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.io.File;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each task execution as a Kubernetes Job (BACKENDS.md section 4, GO-WORKER-NEWER.md section 10). The fabric8
 * client runs on the worker's own Vert.x; API calls and log follows are asynchronous, and watch callbacks pass
 * through a small shared pool onto this backend's event loop, so a running task holds no thread. Jobs outlive the
 * worker: shutdown leaves them running.
 */
final class KubernetesBackend implements TaskBackend {
  private static final Logger log = LoggerFactory.getLogger(KubernetesBackend.class);
  /** Threads that hand fabric8's watch callbacks to the event loop (shared by every task). */
  private static final int CALLBACK_THREADS = 2;

  private final Vertx vertx;
  private final Context context;
  private final WorkerOptions worker;
  private final KubernetesOptions options;
  private final TaskJobs jobs;
  private final Clock clock = Clock.systemUTC();
  private final Map<String, TaskRun> running = new HashMap<>();
  /** Jobs found by {@link #adoptable()}, until the lifecycle resumes them. */
  private final Map<String, Job> adoptable = new HashMap<>();
  private WorkerExecutor callbacks;
  /** Set by {@link #release()}; read by fabric8's threads handing over watch callbacks. */
  private volatile boolean released;
  private KubernetesClient client;
  private KubeApi api;

  KubernetesBackend(BackendContext<KubernetesOptions> backend) {
    this.vertx = backend.vertx();
    this.context = vertx.getOrCreateContext();
    this.worker = backend.worker();
    this.options = backend.options();
    this.jobs = new TaskJobs(options, worker.getWorkerId(), worker.isCleanup(), worker.getEnvironment());
  }

  @Override
  public Future<Void> start() {
    WorkerExecutor pool = vertx.createSharedWorkerExecutor("oz-kubernetes-callbacks", CALLBACK_THREADS);
    callbacks = pool;
    Executor executor = command -> {
      if (released) {
        return; // a watch closed by the shutdown itself: nobody is left to tell
      }
      try {
        pool.executeBlocking(() -> {
          command.run();
          return null;
        }, false);
      } catch (RejectedExecutionException e) {
        log.debug("Kubernetes callback after shutdown dropped: {}", e.getMessage());
      }
    };
    TaskDescription sample = new TaskDescription("warm-up", null, "", null, List.of(), List.of(), List.of(),
        TaskDescription.Shape.NONE, List.of());
    // reading the kubeconfig and the first use of fabric8's mappers are slow: not on the event loop
    return context.<KubernetesClient>executeBlocking(() -> {
      KubernetesClient built;
      try {
        built = new KubernetesClientBuilder()
            .withConfig(config())
            .withHttpClientFactory(new Vertx5HttpClientFactory(vertx))
            .withTaskExecutor(executor)
            .build();
      } catch (RuntimeException e) {
        throw new IllegalStateException("failed to build Kubernetes client config: " + e.getMessage(), e);
      }
      KubeApi.warmUp(built.getKubernetesSerialization(), jobs.taskJob(sample));
      return built;
    }, false).compose(built -> {
      client = built;
      api = new KubeApi(vertx, context, client, options.getNamespace(), options.getRequestTimeout(),
          options.getRetryBackoff());
      return api.version()
          .recover(err -> Future.failedFuture("failed to reach Kubernetes API server at " + client.getMasterUrl() + ": "
              + err.getMessage()));
    }).compose(version -> {
      log.info("Connected to Kubernetes API server {} (version {}), namespace {}", client.getMasterUrl(), version,
          options.getNamespace());
      return new Preflight(vertx, context, api, options, jobs, clock).run();
    }).onFailure(err -> release());
  }

  /** The kubeconfig named in the settings, else in-cluster or {@code KUBECONFIG}/{@code ~/.kube/config}. */
  private Config config() {
    Config base = options.getKubeconfig() != null ? Config.fromKubeconfig(new File(options.getKubeconfig()))
        : Config.autoConfigure(null);
    return new ConfigBuilder(base)
        .withRequestTimeout((int) options.getRequestTimeout().toMillis())
        .withRequestRetryBackoffLimit(0) // retries are ours, with the Go worker's backoff
        .build();
  }

  @Override
  public Future<TaskOutcome> execute(TaskDescription task, TaskOutput output) {
    String conflict = MetadataEnv.conflict(task.env(), jobs.configuredEnvNames());
    if (conflict != null) {
      // before any API call: an operator variable would silently replace the server's metadata
      output.end();
      return Future.succeededFuture(TaskOutcome.failed(FailureReason.JOB_CREATE, conflict));
    }
    Job job;
    try {
      job = jobs.taskJob(task);
    } catch (TaskJobs.InvalidSidecars e) {
      output.end();
      return Future.succeededFuture(TaskOutcome.failed(FailureReason.SIDECAR_PREP, e.getMessage()));
    }
    String execution = Labels.executionOrTask(task.taskId(), task.executionId());
    log.atDebug().addKeyValue("task_id", task.taskId()).log("Using Kubernetes task image: {}", jobs.image(task));
    TaskRun run = new TaskRun(vertx, context, api, options, clock, worker.isCleanup(), task.taskId(), execution,
        job.getMetadata().getName(), output);
    running.put(task.taskId(), run);
    return run.create(job).onComplete(ar -> running.remove(task.taskId(), run));
  }

  /**
   * Jobs of this worker id (by label) that an earlier process created and did not see to their end: not marked with
   * an outcome, not being deleted. Jobs that ended meanwhile count: their end is reported when resumed. Jobs the Go
   * worker created under this worker id are adopted while they run (see {@link GoCreatedJobs}).
   */
  @Override
  public Future<List<AdoptedTask>> adoptable() {
    String selector = Labels.WORKER_HASH + "=" + Labels.hash(worker.getWorkerId()) + "," + Labels.TASK_HASH;
    return api.listJobs(selector).map(list -> {
      List<AdoptedTask> found = new ArrayList<>();
      for (Job job : list.getItems()) {
        Map<String, String> notes = job.getMetadata().getAnnotations() == null ? Map.of()
            : job.getMetadata().getAnnotations();
        if (notes.containsKey(TaskJobs.OUTCOME_ANNOTATION) || job.getMetadata().getDeletionTimestamp() != null) {
          continue;
        }
        String taskId = notes.get(TaskJobs.TASK_ID_ANNOTATION);
        String execution = notes.get(TaskJobs.EXECUTION_ID_ANNOTATION); // absent when the assignment had none
        if (GoCreatedJobs.isGoCreated(notes)) {
          GoCreatedJobs.Ids ids = GoCreatedJobs.adoptable(job);
          if (ids == null) {
            continue;
          }
          taskId = ids.taskId();
          execution = ids.executionId();
        }
        if (running.containsKey(taskId)) {
          continue;
        }
        adoptable.put(taskId, job);
        found.add(new AdoptedTask(taskId, execution, "", secrets(job)));
      }
      if (!found.isEmpty()) {
        log.info("Found {} task Job(s) left running by an earlier process of worker {}", found.size(),
            worker.getWorkerId());
      }
      return found;
    });
  }

  /** The task container's literal environment values, except those the worker itself sets. */
  private static List<String> secrets(Job job) {
    List<String> out = new ArrayList<>();
    for (io.fabric8.kubernetes.api.model.Container c : job.getSpec().getTemplate().getSpec().getContainers()) {
      if (!TaskJobs.TASK_CONTAINER.equals(c.getName()) || c.getEnv() == null) {
        continue;
      }
      for (io.fabric8.kubernetes.api.model.EnvVar e : c.getEnv()) {
        if (e.getValue() != null && e.getValue().length() >= 4 && !TaskJobs.WORKER_SET_ENV.contains(e.getName())) {
          out.add(e.getValue());
        }
      }
    }
    return out;
  }

  @Override
  public Future<TaskOutcome> resume(AdoptedTask task, TaskOutput output) {
    Job job = adoptable.remove(task.taskId());
    if (job == null) {
      output.end();
      return Future.failedFuture("no Job to adopt for task " + task.taskId());
    }
    log.atInfo().addKeyValue("task_id", task.taskId()).log("Following Kubernetes Job {} again after a worker restart",
        job.getMetadata().getName());
    TaskRun run = new TaskRun(vertx, context, api, options, clock, worker.isCleanup(), task.taskId(),
        Labels.executionOrTask(task.taskId(), task.executionId()), job.getMetadata().getName(), output);
    running.put(task.taskId(), run);
    return run.adopt(job).onComplete(ar -> running.remove(task.taskId(), run));
  }

  @Override
  public Future<Void> cancel(String taskId, CancelReason reason) {
    TaskRun run = running.get(taskId);
    if (run != null) {
      run.cancel(reason);
    }
    return Future.succeededFuture();
  }

  @Override
  public Future<Void> checkHealth() {
    return api == null ? Future.failedFuture("not started") : api.ping()
        .recover(err -> Future.failedFuture("Kubernetes API server unreachable: " + err.getMessage()));
  }

  /** Leaves every Job running: they are the durable unit of work, and another worker can adopt them. */
  @Override
  public Future<Void> shutdown() {
    if (!running.isEmpty()) {
      log.info("Preserving {} Kubernetes task Job(s) during worker shutdown", running.size());
    }
    running.values().forEach(TaskRun::detach);
    running.clear();
    release();
    return Future.succeededFuture();
  }

  private void release() {
    released = true;
    if (api != null) {
      api.close();
    }
    if (client != null) {
      KubernetesClient c = client;
      client = null;
      context.executeBlocking(() -> {
        c.close();
        return null;
      }, false);
    }
    if (callbacks != null) {
      callbacks.close();
      callbacks = null;
    }
  }
}
