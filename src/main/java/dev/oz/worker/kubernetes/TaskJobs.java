package dev.oz.worker.kubernetes;

import dev.oz.worker.backend.TaskDescription;
import dev.oz.worker.backend.TaskDescription.SidecarMount;
import dev.oz.worker.config.EnvEntry;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.SecurityContextBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Where a task becomes a Kubernetes Job, field by field as the Go worker makes it (BACKENDS.md section 4): labels and
 * name, the workspace volume, the agent sidecars (image volumes, copy init containers, or copy containers gated by a
 * startup probe), the optional setup init container, the task container and the operator's {@code pod_template}
 * underneath. Pure: no API calls, so the exact spec is testable against a fixture.
 */
final class TaskJobs {
  static final String TASK_CONTAINER = "task";
  static final String SETUP_CONTAINER = "setup";
  static final String COPY_PREFIX = "copy-sidecar-";
  static final String WORKSPACE = "/workspace";
  static final String ENVIRONMENT_FILE = "/workspace/.oz-env";
  static final String COPY_TARGET = "/target";
  static final String COPY_STATE = "/oz-copy-state";
  static final String COPY_FAILED_MESSAGE = "oz-sidecar-copy-failed";
  static final String PREFLIGHT_LABEL = "oz-preflight";
  /** The ids as they are (labels hold sanitised ones): what a restarted worker needs to adopt the Job. */
  static final String TASK_ID_ANNOTATION = "oz-task-id";
  static final String EXECUTION_ID_ANNOTATION = "oz-execution-id";
  /** Written when the worker decided a Job's outcome: a restarted worker does not adopt (and report) it again. */
  static final String OUTCOME_ANNOTATION = "oz-worker-outcome";
  private static final String PREFLIGHT_IMAGE_MOUNT = "/preflight-image";
  /** A preflight Job the worker could not delete is removed by the TTL controller. */
  private static final int PREFLIGHT_TTL_SECONDS = 600;

  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
  /** Variables the worker sets itself (not secrets): everything else in a task's environment may be one. */
  static final Set<String> WORKER_SET_ENV = Set.of("TASK_ID", "GIT_TERMINAL_PROMPT", "GH_PROMPT_DISABLED",
      "WARP_SERVER_ROOT_URL", "OZ_ENVIRONMENT_FILE", "WARP_ENVIRONMENT_FILE", "OZ_WORKSPACE_ROOT", "WARP_WORKSPACE_ROOT",
      "OZ_WORKER_BACKEND", "WARP_WORKER_BACKEND", "OZ_RUN_ID", "WARP_RUN_ID");

  private final KubernetesOptions options;
  private final String workerId;
  private final boolean cleanup;
  private final List<EnvEntry> operatorEnv;

  /**
   * @param operatorEnv the worker's {@code -e} variables, added to every task container after the task's own
   */
  TaskJobs(KubernetesOptions options, String workerId, boolean cleanup, List<EnvEntry> operatorEnv) {
    this.options = options;
    this.workerId = workerId;
    this.cleanup = cleanup;
    this.operatorEnv = List.copyOf(operatorEnv);
  }

  /** A sidecar list the Job cannot mount: the task fails with {@code sidecar_prep} before anything is created. */
  static final class InvalidSidecars extends RuntimeException {
    InvalidSidecars(String message) {
      super(message);
    }
  }

  /**
   * The sidecars this backend mounts: the configured {@code sidecar_image} replaces the server's agent sidecar, and
   * {@code coding_cli_sidecars} replaces or adds the harness sidecar at {@code /mnt/<harness>-cli-sidecar}.
   */
  List<SidecarMount> sidecars(TaskDescription task) {
    List<SidecarMount> out = new ArrayList<>(task.sidecars());
    if (options.getSidecarImage() != null && !out.isEmpty() && "/agent".equals(out.get(0).mountPath())) {
      SidecarMount agent = out.get(0);
      out.set(0, new SidecarMount(options.getSidecarImage(), agent.mountPath(), agent.readWrite()));
    }
    String harness = harness(task.agentArgs());
    String image = harness == null ? null : options.getCodingCliSidecars().get(harness);
    if (image != null && !image.isEmpty()) {
      String mountPath = "/mnt/" + harness + "-cli-sidecar";
      int at = -1;
      for (int i = 0; i < out.size() && at < 0; i++) {
        at = out.get(i).mountPath().equals(mountPath) ? i : -1;
      }
      if (at >= 0) {
        out.set(at, new SidecarMount(image, mountPath, out.get(at).readWrite()));
      } else {
        out.add(new SidecarMount(image, mountPath, false));
      }
    }
    return out;
  }

  /** The harness the agent runs under: the {@code --harness} value of the argument vector (PROTOCOL.md section 4). */
  static String harness(List<String> agentArgs) {
    int at = agentArgs.indexOf("--harness");
    return at < 0 || at + 1 >= agentArgs.size() ? null : agentArgs.get(at + 1).strip();
  }

  private void checkSidecars(List<SidecarMount> sidecars) {
    Set<String> seen = new HashSet<>();
    for (SidecarMount s : sidecars) {
      if (s.image() == null || s.image().isEmpty()) {
        throw new InvalidSidecars("additional sidecar has empty image");
      }
      if (s.mountPath() == null || s.mountPath().isEmpty()) {
        throw new InvalidSidecars("additional sidecar " + s.image() + " has empty mount path");
      }
      if (s.mountPath().equals(WORKSPACE)) {
        throw new InvalidSidecars("additional sidecar " + s.image() + " cannot mount at reserved path " + WORKSPACE);
      }
      if (!seen.add(s.mountPath())) {
        throw new InvalidSidecars("duplicate mount path " + s.mountPath() + " for additional sidecar " + s.image());
      }
      if (options.isUseImageVolumes() && s.readWrite()) {
        throw new InvalidSidecars("additional sidecar " + s.image()
            + " cannot request a read-write mount: kubernetes image volumes are read-only");
      }
    }
  }

  /** The image a task runs: the assignment's, else {@code default_image}, else {@code ubuntu:22.04}. */
  String image(TaskDescription task) {
    if (task.image() != null) {
      return task.image();
    }
    return options.getDefaultImage() != null ? options.getDefaultImage() : KubernetesOptions.DEFAULT_IMAGE;
  }

  /** The Job for one execution of a task; throws {@link InvalidSidecars} for sidecars it cannot mount. */
  Job taskJob(TaskDescription task) {
    List<SidecarMount> sidecars = sidecars(task);
    checkSidecars(sidecars);
    String execution = Labels.executionOrTask(task.taskId(), task.executionId());
    String image = image(task);
    String pull = options.getImagePullPolicy();
    List<EnvVar> env = taskEnv(task);

    List<Volume> volumes = new ArrayList<>();
    VolumeBuilder workspace = new VolumeBuilder().withName("workspace").withNewEmptyDir().endEmptyDir();
    if (options.getWorkspaceSizeLimit() != null) {
      workspace.editEmptyDir().withSizeLimit(new Quantity(options.getWorkspaceSizeLimit())).endEmptyDir();
    }
    volumes.add(workspace.build());
    List<VolumeMount> mounts = new ArrayList<>(List.of(mount("workspace", WORKSPACE, false)));
    List<Container> inits = new ArrayList<>();
    for (int i = 0; i < sidecars.size(); i++) {
      SidecarMount s = sidecars.get(i);
      if (options.isUseImageVolumes()) {
        String name = "sidecar-" + i + "-image";
        volumes.add(new VolumeBuilder().withName(name).withNewImage().withReference(s.image()).withPullPolicy(pull)
            .endImage().build());
        mounts.add(mount(name, s.mountPath(), true));
        continue;
      }
      String data = "sidecar-" + i + "-data";
      volumes.add(new VolumeBuilder().withName(data).withNewEmptyDir().endEmptyDir().build());
      ContainerBuilder copy = new ContainerBuilder()
          .withName(COPY_PREFIX + i)
          .withImage(s.image())
          .withImagePullPolicy(pull)
          .withCommand("/bin/sh", "-c", options.isSidecarCopyReadiness() ? Scripts.COPY_WITH_READINESS : Scripts.COPY)
          .withSecurityContext(root())
          .withVolumeMounts(mount(data, COPY_TARGET, false));
      if (options.isSidecarCopyReadiness()) {
        String state = "sidecar-" + i + "-copy-state";
        volumes.add(new VolumeBuilder().withName(state).withNewEmptyDir().endEmptyDir().build());
        copy.withRestartPolicy("Always")
            .withNewStartupProbe()
            .withNewExec().withCommand("/bin/sh", "-c", "test -f " + COPY_STATE + "/complete").endExec()
            .withPeriodSeconds(1).withTimeoutSeconds(1).withFailureThreshold(600)
            .endStartupProbe()
            .addToVolumeMounts(mount(state, COPY_STATE, false));
      }
      inits.add(copy.build());
      mounts.add(mount(data, s.mountPath(), !s.readWrite()));
    }
    if (options.getSetupCommand() != null) {
      inits.add(new ContainerBuilder()
          .withName(SETUP_CONTAINER)
          .withImage(image)
          .withImagePullPolicy(pull)
          .withCommand("/bin/sh", "-c", options.getSetupCommand())
          .withWorkingDir(WORKSPACE)
          .withEnv(env)
          .withVolumeMounts(mounts)
          .build());
    }
    ContainerBuilder taskContainer = new ContainerBuilder()
        .withName(TASK_CONTAINER)
        .withImage(image)
        .withImagePullPolicy(pull)
        .withCommand("/bin/sh", "-c", Scripts.TASK_WRAPPER, "oz-task")
        .withArgs(task.agentArgs())
        .withEnv(env)
        .withWorkingDir(WORKSPACE)
        .withVolumeMounts(mounts);
    if (options.getTeardownCommand() != null) {
      taskContainer.withNewLifecycle().withNewPreStop().withNewExec()
          .withCommand("/bin/sh", "-c", options.getTeardownCommand())
          .endExec().endPreStop().endLifecycle();
    }
    taskContainer.withResources(shape(task.shape()));

    PodSpec pod = podTemplate();
    pod.setRestartPolicy("Never");
    List<Container> allInits = new ArrayList<>(inits);
    allInits.addAll(pod.getInitContainers());
    pod.setInitContainers(allInits);
    pod.getVolumes().addAll(volumes);
    mergeTaskContainer(pod, taskContainer.build());

    Map<String, String> labels = taskLabels(task.taskId(), execution);
    Map<String, String> annotations = options.getExtraAnnotations().isEmpty() ? null
        : new LinkedHashMap<>(options.getExtraAnnotations());
    Map<String, String> jobAnnotations = new LinkedHashMap<>(options.getExtraAnnotations());
    jobAnnotations.put(TASK_ID_ANNOTATION, task.taskId());
    if (task.executionId() != null && !task.executionId().isBlank()) {
      jobAnnotations.put(EXECUTION_ID_ANNOTATION, task.executionId());
    }
    return new JobBuilder()
        .withNewMetadata()
        .withName(Labels.jobName(task.taskId(), execution))
        .withNamespace(options.getNamespace())
        .withLabels(labels)
        .withAnnotations(jobAnnotations)
        .endMetadata()
        .withNewSpec()
        .withBackoffLimit(0)
        .withActiveDeadlineSeconds(options.getActiveDeadlineSeconds() > 0 ? options.getActiveDeadlineSeconds() : null)
        .withTtlSecondsAfterFinished(cleanup ? options.getTtlSecondsAfterFinished() : null)
        .withNewTemplate()
        .withNewMetadata().withLabels(labels).withAnnotations(annotations).endMetadata()
        .withSpec(pod)
        .endTemplate()
        .endSpec()
        .build();
  }

  /** Extra labels, then the worker's: readable ids and their hashes (selectors use the hashes). */
  Map<String, String> taskLabels(String taskId, String execution) {
    Map<String, String> labels = new TreeMap<>(options.getExtraLabels());
    labels.putAll(workerLabels());
    labels.put(Labels.TASK_ID, Labels.labelValue(taskId));
    labels.put(Labels.TASK_HASH, Labels.hash(taskId));
    labels.put(Labels.EXECUTION_ID, Labels.labelValue(execution));
    labels.put(Labels.EXECUTION_HASH, Labels.hash(execution));
    return labels;
  }

  Map<String, String> workerLabels() {
    return Map.of(Labels.WORKER_ID, Labels.labelValue(workerId), Labels.WORKER_HASH, Labels.hash(workerId));
  }

  /**
   * Names the operator configures for the task container: {@code -e} and the {@code pod_template} task container's
   * env (values or {@code valueFrom}); an assignment's {@code WARP_METADATA_*} may not be among them.
   */
  List<String> configuredEnvNames() {
    List<String> names = new ArrayList<>();
    operatorEnv.forEach(e -> names.add(e.name()));
    podTemplate().getContainers().stream().filter(c -> TASK_CONTAINER.equals(c.getName()))
        .forEach(c -> c.getEnv().forEach(e -> names.add(e.getName())));
    return names;
  }

  /**
   * The task's variables, then the operator's {@code -e} (sorted by name, as the Go worker's map), then the worker's
   * own {@code OZ_*} names each beside its {@code WARP_*} twin; a later value wins, a name keeps its first place.
   */
  List<EnvVar> taskEnv(TaskDescription task) {
    Map<String, String> env = new LinkedHashMap<>();
    task.env().forEach(e -> env.put(e.name(), e.value()));
    operatorEnv.stream().sorted(Comparator.comparing(EnvEntry::name)).forEach(e -> env.put(e.name(), e.value()));
    for (Map.Entry<String, String> owned : Map.of(
        "ENVIRONMENT_FILE", ENVIRONMENT_FILE,
        "WORKSPACE_ROOT", WORKSPACE,
        "WORKER_BACKEND", KubernetesBackendFactory.NAME,
        "RUN_ID", task.taskId()).entrySet().stream().sorted(ownedOrder()).toList()) {
      env.put("OZ_" + owned.getKey(), owned.getValue());
      env.put("WARP_" + owned.getKey(), owned.getValue());
    }
    List<EnvVar> out = new ArrayList<>();
    env.forEach((k, v) -> out.add(new EnvVar(k, v, null)));
    return out;
  }

  private static Comparator<Map.Entry<String, String>> ownedOrder() {
    List<String> order = List.of("ENVIRONMENT_FILE", "WORKSPACE_ROOT", "WORKER_BACKEND", "RUN_ID");
    return Comparator.comparingInt(e -> order.indexOf(e.getKey()));
  }

  /** Requests equal to limits for each axis the shape sets: the runner's size drives scheduling and enforcement. */
  static ResourceRequirements shape(TaskDescription.Shape shape) {
    Map<String, Quantity> amounts = new LinkedHashMap<>();
    if (shape.vcpus() > 0) {
      amounts.put("cpu", new Quantity(Long.toString(shape.vcpus())));
    }
    if (shape.memoryGb() > 0) {
      amounts.put("memory", new Quantity(shape.memoryGb() + "Gi"));
    }
    if (amounts.isEmpty()) {
      return null;
    }
    return new ResourceRequirements(null, new LinkedHashMap<>(amounts), new LinkedHashMap<>(amounts));
  }

  /**
   * Overlays the worker's task container on the template's container named {@code task} (image, command, arguments,
   * working directory replaced; mounts appended; env merged by name; shape resources per axis), or adds it.
   */
  private static void mergeTaskContainer(PodSpec pod, Container ours) {
    Container theirs = pod.getContainers().stream().filter(c -> TASK_CONTAINER.equals(c.getName())).findFirst()
        .orElse(null);
    if (theirs == null) {
      pod.getContainers().add(ours);
      return;
    }
    theirs.setImage(ours.getImage());
    if (theirs.getImagePullPolicy() == null || theirs.getImagePullPolicy().isEmpty()) {
      theirs.setImagePullPolicy(ours.getImagePullPolicy());
    }
    theirs.setCommand(ours.getCommand());
    theirs.setArgs(ours.getArgs());
    theirs.setWorkingDir(ours.getWorkingDir());
    List<VolumeMount> mounts = new ArrayList<>(theirs.getVolumeMounts());
    mounts.addAll(ours.getVolumeMounts());
    theirs.setVolumeMounts(mounts);
    theirs.setEnv(mergeEnv(theirs.getEnv(), ours.getEnv()));
    if (ours.getLifecycle() != null) {
      theirs.setLifecycle(ours.getLifecycle());
    }
    if (ours.getResources() != null) {
      ResourceRequirements r = theirs.getResources() == null ? new ResourceRequirements() : theirs.getResources();
      Map<String, Quantity> requests = new LinkedHashMap<>(r.getRequests() == null ? Map.of() : r.getRequests());
      Map<String, Quantity> limits = new LinkedHashMap<>(r.getLimits() == null ? Map.of() : r.getLimits());
      requests.putAll(ours.getResources().getRequests());
      limits.putAll(ours.getResources().getLimits());
      r.setRequests(requests);
      r.setLimits(limits);
      theirs.setResources(r);
    }
  }

  /** The template's variables in their places, ours replacing same-named ones, new ones appended. */
  static List<EnvVar> mergeEnv(List<EnvVar> base, List<EnvVar> override) {
    List<EnvVar> out = new ArrayList<>(base);
    for (EnvVar e : override) {
      int at = -1;
      for (int i = 0; i < out.size() && at < 0; i++) {
        at = out.get(i).getName().equals(e.getName()) ? i : -1;
      }
      if (at >= 0) {
        out.set(at, e);
      } else {
        out.add(e);
      }
    }
    return out;
  }

  /** A deep copy of the operator's {@code pod_template}, or an empty PodSpec. */
  private PodSpec podTemplate() {
    PodSpec pod = options.getPodTemplate() == null ? new PodSpec() : SERIALIZATION.clone(options.getPodTemplate());
    if (pod.getContainers() == null) {
      pod.setContainers(new ArrayList<>());
    }
    if (pod.getInitContainers() == null) {
      pod.setInitContainers(new ArrayList<>());
    }
    if (pod.getVolumes() == null) {
      pod.setVolumes(new ArrayList<>());
    }
    return pod;
  }

  /**
   * The Job that proves at start-up that task Jobs can run here (RBAC, admission, Pod Security): with image volumes
   * one that mounts an image; otherwise one with a root init container (a native sidecar gated by a startup probe
   * when {@code sidecar_copy_readiness} is on).
   */
  Job preflightJob(String name) {
    String pull = options.getImagePullPolicy();
    String image = options.getPreflightImage();
    ResourceRequirements resources = options.getPreflightResources();
    PodSpec pod = podTemplate();
    pod.setRestartPolicy("Never");
    if (options.isUseImageVolumes()) {
      pod.setInitContainers(new ArrayList<>());
      pod.getVolumes().add(new VolumeBuilder().withName("preflight-image").withNewImage().withReference(image)
          .withPullPolicy(pull).endImage().build());
      pod.setContainers(new ArrayList<>(List.of(new ContainerBuilder()
          .withName("main").withImage(image).withImagePullPolicy(pull)
          .withCommand("/bin/sh", "-c", "test -d " + PREFLIGHT_IMAGE_MOUNT)
          .withResources(resources)
          .withVolumeMounts(mount("preflight-image", PREFLIGHT_IMAGE_MOUNT, true))
          .build())));
    } else {
      ContainerBuilder init = new ContainerBuilder()
          .withName("root-init-preflight").withImage(image).withImagePullPolicy(pull)
          .withCommand("/bin/sh", "-c", "true")
          .withSecurityContext(root())
          .withResources(resources);
      if (options.isSidecarCopyReadiness()) {
        pod.getVolumes().add(new VolumeBuilder().withName("preflight-copy-state").withNewEmptyDir().endEmptyDir()
            .build());
        init.withCommand("/bin/sh", "-c", "touch " + COPY_STATE + "/complete\n" + Scripts.HOLD)
            .withRestartPolicy("Always")
            .withNewStartupProbe()
            .withNewExec().withCommand("/bin/sh", "-c", "test -f " + COPY_STATE + "/complete").endExec()
            .withPeriodSeconds(1).withTimeoutSeconds(1).withFailureThreshold(600)
            .endStartupProbe()
            .withVolumeMounts(mount("preflight-copy-state", COPY_STATE, false));
      }
      pod.setInitContainers(new ArrayList<>(List.of(init.build())));
      pod.setContainers(new ArrayList<>(List.of(new ContainerBuilder()
          .withName("main").withImage(image).withImagePullPolicy(pull)
          .withCommand("/bin/sh", "-c", "true")
          .withResources(resources)
          .build())));
    }
    Map<String, String> labels = new TreeMap<>(workerLabels());
    labels.put(PREFLIGHT_LABEL, "true");
    return new JobBuilder()
        .withNewMetadata().withName(name).withNamespace(options.getNamespace()).withLabels(labels).endMetadata()
        .withNewSpec()
        .withBackoffLimit(0)
        .withTtlSecondsAfterFinished(PREFLIGHT_TTL_SECONDS)
        .withNewTemplate().withNewMetadata().withLabels(labels).endMetadata().withSpec(pod).endTemplate()
        .endSpec()
        .build();
  }

  /** {@code oz-preflight-<worker hash>-<nanos>}, as the Go worker names it. */
  String preflightName(long nanos) {
    return "oz-preflight-" + Labels.hash(workerId) + "-" + nanos;
  }

  private static VolumeMount mount(String name, String path, boolean readOnly) {
    return new VolumeMountBuilder().withName(name).withMountPath(path).withReadOnly(readOnly ? true : null).build();
  }

  private static SecurityContext root() {
    return new SecurityContextBuilder().withRunAsUser(0L).withRunAsGroup(0L).build();
  }
}
