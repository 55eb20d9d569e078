package dev.oz.worker.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.oz.worker.backend.TaskDescription;
import dev.oz.worker.backend.TaskDescription.EnvVar;
import dev.oz.worker.backend.TaskDescription.Shape;
import dev.oz.worker.backend.TaskDescription.SidecarMount;
import dev.oz.worker.config.EnvEntry;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.vertx.core.json.JsonObject;
import java.io.InputStream;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The exact Job for a rich and a minimal assignment, against fixtures written from BACKENDS.md section 4. */
class TaskJobsTest {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  static TaskDescription minimalTask() {
    return new TaskDescription("t1", null, "minimal", null,
        List.of(new EnvVar("TASK_ID", "t1"), new EnvVar("GIT_TERMINAL_PROMPT", "0"), new EnvVar("GH_PROMPT_DISABLED", "1")),
        List.of("agent", "run", "--task-id", "t1", "--sandboxed", "--server-root-url", "", "--idle-on-complete"),
        List.of(), Shape.NONE, List.of());
  }

  static TaskDescription richTask() {
    return new TaskDescription("run-7f3a", "exec-0123456789abcdef", "rich", "registry.example/dev:1",
        List.of(new EnvVar("TASK_ID", "run-7f3a"), new EnvVar("GIT_TERMINAL_PROMPT", "0"),
            new EnvVar("GH_PROMPT_DISABLED", "1"), new EnvVar("WARP_SERVER_ROOT_URL", "https://app.warp.dev"),
            new EnvVar("WARP_API_KEY", "secret-key-1")),
        List.of("agent", "run", "--task-id", "run-7f3a", "--sandboxed", "--server-root-url", "https://app.warp.dev",
            "--harness", "claude", "--idle-on-complete"),
        List.of(new SidecarMount("warp/agent:1", "/agent", false), new SidecarMount("tools:1", "/mnt/tools", true),
            new SidecarMount("warp/claude:1", "/mnt/claude-cli-sidecar", false)),
        new Shape(2, 4), List.of("secret-key-1"));
  }

  static KubernetesOptions richOptions() {
    return KubernetesOptions.fromJson(new JsonObject("""
        {"namespace": "agents", "image_pull_policy": "Always", "sidecar_image": "corp/agent:9",
         "coding_cli_sidecars": {"claude": "corp/claude:2", "codex": "corp/codex:1"},
         "setup_command": "apt-get install -y jq > /workspace/.setup-log",
         "teardown_command": "/workspace/teardown.sh",
         "extra_labels": {"team": "platform"}, "extra_annotations": {"example.com/owner": "agents-team"},
         "workspace_size_limit": "10Gi",
         "pod_template": {
           "serviceAccountName": "task-runner", "nodeSelector": {"pool": "agents"},
           "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "agents", "effect": "NoSchedule"}],
           "imagePullSecrets": [{"name": "registry-creds"}],
           "initContainers": [{"name": "template-init", "image": "busybox:1.36",
                               "command": ["/bin/sh", "-c", "echo from the template"]}],
           "containers": [{"name": "log-shipper", "image": "fluent-bit:3"},
                          {"name": "task", "image": "ignored:0", "imagePullPolicy": "IfNotPresent",
                           "env": [{"name": "FROM_TEMPLATE", "value": "x"}, {"name": "A", "value": "template"}],
                           "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
                           "resources": {"requests": {"cpu": "500m", "ephemeral-storage": "1Gi"}}}],
           "volumes": [{"name": "cache", "emptyDir": {}}]}}
        """));
  }

  private static JsonNode fixture(String name) throws Exception {
    try (InputStream in = TaskJobsTest.class.getResourceAsStream("/kubernetes/" + name)) {
      String text = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
          .replace("COPY_SCRIPT", JSON.writeValueAsString(Scripts.COPY))
          .replace("TASK_WRAPPER", JSON.writeValueAsString(Scripts.TASK_WRAPPER));
      return YAML.readTree(text);
    }
  }

  private static JsonNode tree(Job job) throws Exception {
    return JSON.readTree(SERIALIZATION.asJson(job));
  }

  @Test
  void richAssignmentWithPodTemplate() throws Exception {
    TaskJobs jobs = new TaskJobs(richOptions(), "worker-a", true,
        List.of(new EnvEntry("B", "2"), new EnvEntry("A", "1"), new EnvEntry("GIT_TERMINAL_PROMPT", "1")));
    assertEquals(fixture("task-job-rich.yaml"), tree(jobs.taskJob(richTask())));
  }

  @Test
  void minimalAssignmentWithDefaults() throws Exception {
    TaskJobs jobs = new TaskJobs(KubernetesOptions.fromJson(new JsonObject()), "worker-a", true, List.of());
    assertEquals(fixture("task-job-minimal.yaml"), tree(jobs.taskJob(minimalTask())));
  }

  @Test
  void cleanupOffSetsNoTtlAndAZeroDeadlineSetsNone() {
    TaskJobs jobs = new TaskJobs(new KubernetesOptions().setActiveDeadlineSeconds(0), "worker-a", false, List.of());
    Job job = jobs.taskJob(minimalTask());
    assertNull(job.getSpec().getTtlSecondsAfterFinished(), "finished Jobs are kept indefinitely");
    assertNull(job.getSpec().getActiveDeadlineSeconds());
  }

  @Test
  void imageVolumesMountEachSidecarReadOnly() throws Exception {
    TaskJobs jobs = new TaskJobs(new KubernetesOptions().setUseImageVolumes(true), "worker-a", true, List.of());
    TaskDescription t = richTask();
    TaskDescription ro = new TaskDescription(t.taskId(), t.executionId(), t.title(), t.image(), t.env(), t.agentArgs(),
        List.of(new SidecarMount("warp/agent:1", "/agent", false)), Shape.NONE, List.of());
    Job job = jobs.taskJob(ro);
    assertEquals(JSON.readTree("""
        [{"name": "workspace", "emptyDir": {}},
         {"name": "sidecar-0-image", "image": {"reference": "warp/agent:1", "pullPolicy": "IfNotPresent"}}]"""),
        JSON.readTree(SERIALIZATION.asJson(job.getSpec().getTemplate().getSpec().getVolumes())));
    assertEquals(List.of(), job.getSpec().getTemplate().getSpec().getInitContainers());
    assertEquals("additional sidecar tools:1 cannot request a read-write mount: kubernetes image volumes are read-only",
        assertThrows(TaskJobs.InvalidSidecars.class, () -> jobs.taskJob(t)).getMessage());
  }

  @Test
  void copyReadinessRunsCopiesAsNativeSidecarsWithPrivateState() {
    TaskJobs jobs = new TaskJobs(new KubernetesOptions().setSidecarCopyReadiness(true).setSetupCommand("true"),
        "worker-a", true, List.of());
    Job job = jobs.taskJob(richTask());
    List<Container> inits = job.getSpec().getTemplate().getSpec().getInitContainers();
    assertEquals(List.of("copy-sidecar-0", "copy-sidecar-1", "copy-sidecar-2", "setup"), inits.stream().map(Container::getName).toList());
    Container copy = inits.get(0);
    assertEquals("Always", copy.getRestartPolicy());
    assertEquals(List.of("/bin/sh", "-c", "test -f /oz-copy-state/complete"), copy.getStartupProbe().getExec().getCommand());
    assertEquals(List.of(1, 1, 600), List.of(copy.getStartupProbe().getPeriodSeconds(),
        copy.getStartupProbe().getTimeoutSeconds(), copy.getStartupProbe().getFailureThreshold()));
    assertEquals(Scripts.COPY_WITH_READINESS, copy.getCommand().get(2));
    assertEquals(List.of("/target", "/oz-copy-state"), copy.getVolumeMounts().stream().map(m -> m.getMountPath()).toList());
    assertEquals(List.of("workspace", "sidecar-0-data", "sidecar-0-copy-state", "sidecar-1-data", "sidecar-1-copy-state",
        "sidecar-2-data", "sidecar-2-copy-state"),
        job.getSpec().getTemplate().getSpec().getVolumes().stream().map(v -> v.getName()).toList());
    for (Container c : List.of(inits.get(3), job.getSpec().getTemplate().getSpec().getContainers().get(0))) {
      assertEquals(List.of("/workspace", "/agent", "/mnt/tools", "/mnt/claude-cli-sidecar"), c.getVolumeMounts().stream().map(m -> m.getMountPath())
          .toList(), c.getName() + " never sees the copy state");
    }
  }

  @Test
  void sidecarsTheJobCannotMountAreRefused() {
    TaskJobs jobs = new TaskJobs(new KubernetesOptions(), "worker-a", true, List.of());
    TaskDescription t = minimalTask();
    for (var c : List.of(
        List.of(new SidecarMount("a:1", "/workspace", false), "additional sidecar a:1 cannot mount at reserved path /workspace"),
        List.of(new SidecarMount("", "/x", false), "additional sidecar has empty image"),
        List.of(new SidecarMount("a:1", "", false), "additional sidecar a:1 has empty mount path"))) {
      TaskDescription bad = new TaskDescription(t.taskId(), null, "", null, t.env(), t.agentArgs(),
          List.of((SidecarMount) c.get(0)), Shape.NONE, List.of());
      assertEquals(c.get(1), assertThrows(TaskJobs.InvalidSidecars.class, () -> jobs.taskJob(bad)).getMessage());
    }
    TaskDescription twice = new TaskDescription(t.taskId(), null, "", null, t.env(), t.agentArgs(),
        List.of(new SidecarMount("a:1", "/x", false), new SidecarMount("b:1", "/x", false)), Shape.NONE, List.of());
    assertEquals("duplicate mount path /x for additional sidecar b:1",
        assertThrows(TaskJobs.InvalidSidecars.class, () -> jobs.taskJob(twice)).getMessage());
  }

  @Test
  void harnessSidecarIsAddedWhenTheServerSentNone() {
    TaskJobs jobs = new TaskJobs(new KubernetesOptions().setCodingCliSidecars(java.util.Map.of("codex", "corp/codex:1")),
        "worker-a", true, List.of());
    TaskDescription t = minimalTask();
    List<String> args = new java.util.ArrayList<>(t.agentArgs());
    args.addAll(List.of("--harness", "codex"));
    TaskDescription codex = new TaskDescription("t1", null, "", null, t.env(), args, List.of(), Shape.NONE, List.of());
    assertEquals(List.of(new SidecarMount("corp/codex:1", "/mnt/codex-cli-sidecar", false)), jobs.sidecars(codex));
  }

  @Test
  void namesAndLabelsAsTheGoWorkerMakesThem() {
    assertEquals("oz-task-0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b-exec-2e3f4a5c",
        Labels.jobName("0199A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B", "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"));
    assertEquals("oz-task-run-exec-exec", Labels.jobName("!!!", "___"));
    assertEquals(63, Labels.jobName("r".repeat(100), "e").length());
    assertEquals("my_worker.1-x", Labels.labelValue("-My_Worker.1 x."));
    assertEquals("unknown", Labels.labelValue("///"));
    assertEquals(63, Labels.labelValue("a".repeat(80)).length());
  }

  @Test
  void preflightJobMountsAnImageOrRunsARootInit() throws Exception {
    TaskJobs legacy = new TaskJobs(new KubernetesOptions().setNamespace("agents"), "worker-a", true, List.of());
    assertEquals(JSON.readTree("""
        {"apiVersion": "batch/v1", "kind": "Job",
         "metadata": {"name": "oz-preflight-6a65e237ae44c428-42", "namespace": "agents",
                      "labels": {"oz-preflight": "true", "oz-worker-hash": "6a65e237ae44c428", "oz-worker-id": "worker-a"}},
         "spec": {"backoffLimit": 0, "ttlSecondsAfterFinished": 600,
           "template": {"metadata": {"labels": {"oz-preflight": "true", "oz-worker-hash": "6a65e237ae44c428",
                                                "oz-worker-id": "worker-a"}},
             "spec": {"restartPolicy": "Never",
               "initContainers": [{"name": "root-init-preflight", "image": "busybox:1.36", "imagePullPolicy": "IfNotPresent",
                 "command": ["/bin/sh", "-c", "true"], "securityContext": {"runAsUser": 0, "runAsGroup": 0},
                 "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}}}],
               "containers": [{"name": "main", "image": "busybox:1.36", "imagePullPolicy": "IfNotPresent",
                 "command": ["/bin/sh", "-c", "true"],
                 "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}}}]}}}}"""),
        tree(legacy.preflightJob(legacy.preflightName(42))));
    TaskJobs images = new TaskJobs(new KubernetesOptions().setUseImageVolumes(true).setPreflightImage("corp/probe:1"),
        "worker-a", true, List.of());
    var spec = images.preflightJob("p").getSpec().getTemplate().getSpec();
    assertEquals(List.of("/bin/sh", "-c", "test -d /preflight-image"), spec.getContainers().get(0).getCommand());
    assertEquals("corp/probe:1", spec.getVolumes().get(0).getImage().getReference());
    assertEquals(List.of(), spec.getInitContainers());
  }
}
