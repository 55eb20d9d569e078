package dev.oz.worker.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import dev.oz.worker.backend.BackendRegistry;
import dev.oz.worker.cli.CommandLineAccess;
import dev.oz.worker.config.ConfigException;
import dev.oz.worker.config.WorkerOptions;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Helm chart, rendered and linted by Helm itself (helm-java, Helm's Go library bundled, no helm binary): the
 * manifests parsed with the fabric8 model, the Deployment's arguments fed to the worker's own command line and the
 * ConfigMap's YAML to its own config loader, for the default values, the Go chart's values and command mode.
 */
class HelmChartTest {
  static final Path CHART = Path.of("charts/oz-agent-worker");
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  @TempDir
  Path dir;

  /** {@code helm template oz <chart> --namespace agents} with these {@code --set} values. */
  static List<HasMetadata> render(UnaryOperator<TemplateCommand> values) {
    String yaml = values.apply(new Helm(CHART).template().withName("oz").withNamespace("agents")).call();
    List<HasMetadata> out = new ArrayList<>();
    for (String doc : yaml.split("(?m)^---\\s*$")) {
      if (doc.strip().isEmpty() || doc.lines().allMatch(l -> l.isBlank() || l.startsWith("#"))) {
        continue;
      }
      out.add(SERIALIZATION.unmarshal(doc));
    }
    return out;
  }

  static List<HasMetadata> renderDefault() {
    return render(t -> t.set("worker.workerId", "ci-kubernetes-worker").set("image.tag", "ci"));
  }

  @SuppressWarnings("unchecked")
  static <T extends HasMetadata> T one(List<HasMetadata> objects, Class<T> type) {
    List<HasMetadata> found = objects.stream().filter(type::isInstance).toList();
    assertEquals(1, found.size(), type.getSimpleName() + " in " + objects.stream().map(HasMetadata::getKind).toList());
    return (T) found.get(0);
  }

  static List<String> kinds(List<HasMetadata> objects) {
    return objects.stream().map(HasMetadata::getKind).sorted().toList();
  }

  /** Starts the worker's own config loader on what the pod would run: the Deployment's args and the ConfigMap. */
  WorkerOptions load(List<HasMetadata> objects) throws Exception {
    ConfigMap cm = one(objects, ConfigMap.class);
    Path yaml = Files.writeString(dir.resolve("config.yaml"), cm.getData().get("config.yaml"));
    List<String> args = new ArrayList<>(worker(objects).getArgs());
    int file = args.indexOf("--config-file");
    assertEquals("/etc/oz-agent-worker/config.yaml", args.get(file + 1));
    args.subList(file, file + 2).clear(); // the file is the loader's yaml argument
    if (cm.getData().containsKey("worker.json")) {
      Path json = Files.writeString(dir.resolve("worker.json"), cm.getData().get("worker.json"));
      args.replaceAll(a -> a.equals("/etc/oz-agent-worker/worker.json") ? json.toString() : a);
    }
    return CommandLineAccess.load(args, null, yaml, Map.of("WARP_API_KEY", "from-the-secret"));
  }

  static Container worker(List<HasMetadata> objects) {
    return one(objects, Deployment.class).getSpec().getTemplate().getSpec().getContainers().get(0);
  }

  @Test
  void lintsCleanInBothModes() throws Exception {
    LintResult kubernetes = new Helm(CHART).lint().strict().call();
    assertFalse(kubernetes.isFailed(), kubernetes.getMessages().toString());
    // helm-java's lint takes no values file: lint a copy whose defaults are command mode
    Path copy = dir.resolve("oz-agent-worker");
    try (var files = Files.walk(CHART)) {
      for (Path p : files.toList()) {
        Files.copy(p, copy.resolve(CHART.relativize(p).toString()));
      }
    }
    String values = Files.readString(copy.resolve("values.yaml"));
    Files.writeString(copy.resolve("values.yaml"), values.replace("  type: kubernetes", "  type: command")
        .replace("  dispatchCommand: \"\"", "  dispatchCommand: /opt/oz/dispatch"));
    LintResult command = new Helm(copy).lint().strict().call();
    assertFalse(command.isFailed(), command.getMessages().toString());
  }

  @Test
  void defaultValuesRunTheKubernetesBackendTheWorkerAccepts() throws Exception {
    List<HasMetadata> objects = renderDefault();
    assertEquals(List.of("ConfigMap", "Deployment", "Role", "RoleBinding", "ServiceAccount"), kinds(objects));
    Container c = worker(objects);
    assertEquals("oz-agent-worker:ci", c.getImage());
    assertEquals(List.of("--config-file", "/etc/oz-agent-worker/config.yaml", "--backend", "kubernetes", "--log-level",
        "info", "--web-socket-url", "wss://oz.warp.dev/api/v1/selfhosted/worker/ws", "--server-root-url",
        "https://app.warp.dev", "--metrics-port", "9464"), c.getArgs());
    assertEquals(List.of("WARP_API_KEY", "OTEL_METRICS_EXPORTER"), c.getEnv().stream().map(EnvVar::getName).toList());
    assertEquals("oz-agent-worker", c.getEnv().get(0).getValueFrom().getSecretKeyRef().getName());
    assertEquals("none", c.getEnv().get(1).getValue());
    assertEquals("/healthz", c.getLivenessProbe().getHttpGet().getPath());
    assertEquals("metrics", c.getLivenessProbe().getHttpGet().getPort().getStrVal());
    assertEquals("/readyz", c.getReadinessProbe().getHttpGet().getPath());
    assertEquals(9464, c.getPorts().get(0).getContainerPort());
    assertEquals(30L, one(objects, Deployment.class).getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds());

    WorkerOptions o = load(objects);
    assertEquals("kubernetes", o.getBackend());
    assertEquals("ci-kubernetes-worker", o.getWorkerId());
    assertEquals("from-the-secret", o.getApiKey());
    assertEquals(9464, o.getMetrics().getPort());
    KubernetesOptions k = KubernetesOptions.fromJson(o.getBackendBlock("kubernetes"));
    assertEquals("agents", k.getNamespace(), "the release namespace");
    assertEquals(28800, k.getActiveDeadlineSeconds());
    assertEquals(86400, k.getTtlSecondsAfterFinished());
    assertEquals(Duration.ofMinutes(10), k.getUnschedulableTimeout());
    assertEquals(Duration.ofMinutes(2), k.getVolumeMountTimeout());
    assertEquals("IfNotPresent", k.getImagePullPolicy());
  }

  @Test
  void roleGrantsTheBackendsCallsAndNothingElse() {
    Role role = one(renderDefault(), Role.class);
    assertEquals(RbacTest.expectedRules(), RbacTest.rules(role));
  }

  @Test
  void goChartValuesWorkUnchangedImageAside() throws Exception {
    List<HasMetadata> objects = render(t -> t.withValuesFile(Path.of("src/test/resources/kubernetes/go-chart-values.yaml"))
        .set("image.repository", "registry.example/oz-agent-worker-jvm").set("image.tag", "1.0"));
    assertEquals(List.of("ConfigMap", "Deployment", "PodMonitor", "Role", "RoleBinding", "Secret", "Service",
        "ServiceAccount"), kinds(objects));
    Container c = worker(objects);
    assertEquals(List.of("--config-file", "/etc/oz-agent-worker/config.yaml", "--backend", "kubernetes", "--log-level",
        "debug", "--web-socket-url", "ws://oz.internal:8080/api/v1/selfhosted/worker/ws", "--server-root-url",
        "http://oz.internal:8080", "--metrics-port", "9464", "--session-sharing-server-url", "ws://share.internal:8081"),
        c.getArgs());
    assertEquals(List.of("WARP_API_KEY", "HTTPS_PROXY", "OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_PROMETHEUS_HOST",
        "OTEL_EXPORTER_PROMETHEUS_PORT"), c.getEnv().stream().map(EnvVar::getName).toList());
    assertEquals("exec", c.getLivenessProbe().getExec() != null ? "exec" : "http", "the operator's own probe is kept");
    GenericKubernetesResource monitor = one(objects, GenericKubernetesResource.class);
    assertEquals("PodMonitor", monitor.getKind());

    WorkerOptions o = load(objects);
    assertEquals("go-values-worker", o.getWorkerId());
    assertEquals(4, o.getMaxConcurrentTasks());
    assertFalse(o.isCleanup());
    assertEquals("30m", o.getIdleOnComplete());
    KubernetesOptions k = KubernetesOptions.fromJson(o.getBackendBlock("kubernetes"));
    assertEquals("agent-jobs", k.getNamespace());
    assertEquals("corp/dev:2", k.getDefaultImage());
    assertEquals("Always", k.getImagePullPolicy());
    assertEquals("corp/busybox:1", k.getPreflightImage());
    assertEquals("corp/agent:3", k.getSidecarImage());
    assertEquals("make setup", k.getSetupCommand());
    assertEquals("make teardown", k.getTeardownCommand());
    assertEquals(Map.of("team", "agents"), k.getExtraLabels());
    assertEquals(Map.of("example.com/cost-center", "ai"), k.getExtraAnnotations());
    assertEquals(0, k.getActiveDeadlineSeconds(), "null disables the deadline, as with the Go chart");
    assertEquals("20Gi", k.getWorkspaceSizeLimit());
    assertEquals(Duration.ofMinutes(15), k.getUnschedulableTimeout());
    assertEquals(Duration.ofMinutes(1), k.getVolumeMountTimeout());
    assertEquals("task-runner", k.getPodTemplate().getServiceAccountName());
    assertEquals("50m", k.getPreflightResources().getLimits().get("cpu").toString());
    assertEquals(KubernetesOptions.DEFAULT_TTL_SECONDS_AFTER_FINISHED, k.getTtlSecondsAfterFinished(),
        "no TTL rendered with cleanup off: the worker sets none on its Jobs");
  }

  @Test
  void collectTaskLogsOffInTheValuesReachesTheWorker() throws Exception {
    List<HasMetadata> off = render(t -> t.set("worker.workerId", "ci-kubernetes-worker").set("image.tag", "ci")
        .set("worker.collectTaskLogs", "false"));
    assertTrue(one(off, ConfigMap.class).getData().get("config.yaml").contains("collect_task_logs: false"));
    assertFalse(load(off).isCollectTaskLogs());
    assertTrue(load(renderDefault()).isCollectTaskLogs(), "on by default");
  }

  @Test
  void commandModeHasNoRoleAndRendersItsDispatchSettings() throws Exception {
    List<HasMetadata> objects = render(t -> t.withValuesFile(CHART.resolve("ci/command-values.yaml")));
    assertEquals(List.of("ConfigMap", "Deployment", "ServiceAccount"), kinds(objects));
    Container c = worker(objects);
    assertEquals("command", c.getArgs().get(c.getArgs().indexOf("--backend") + 1));
    assertEquals("/opt/oz", c.getVolumeMounts().get(1).getMountPath());
    assertEquals("oz-dispatch", one(objects, Deployment.class).getSpec().getTemplate().getSpec().getVolumes().get(1)
        .getConfigMap().getName());
    EnvVar auth = c.getEnv().stream().filter(e -> e.getName().equals("OZ_DISPATCH_AUTH_HEADER")).findFirst().orElseThrow();
    assertEquals("oz-dispatch-credentials", auth.getValueFrom().getSecretKeyRef().getName());
    String config = one(objects, ConfigMap.class).getData().get("config.yaml");
    assertTrue(config.contains("""
          command:
            dispatch_command: "python3 /opt/oz/dispatch.py"
            cancel_command: "python3 /opt/oz/cancel.py"
            dispatch_timeout: "45s"
            environment:
              - name: OZ_DISPATCH_URL
                value: https://runtime.example.test/dispatch
              - name: OZ_DISPATCH_AUTH_HEADER
        """), config);
    if (BackendRegistry.load().settings().containsKey("command")) {
      assertEquals("command", load(objects).getBackend());
    } else {
      assertEquals("backend \"command\" is not supported by this worker yet (available: docker, kubernetes, scripted)",
          assertThrows(ConfigException.class, () -> load(objects)).getMessage(),
          "until the command backend lands, the worker refuses the mode clearly");
    }
  }

  @Test
  void invalidModesFailToRender() {
    assertTrue(assertThrows(IllegalStateException.class, () -> render(t -> t.set("worker.workerId", "w")
        .set("image.tag", "ci").set("backend.type", "invalid"))).getMessage()
        .contains("backend.type must be \"kubernetes\" or \"command\""));
    assertTrue(assertThrows(IllegalStateException.class, () -> render(t -> t.set("worker.workerId", "w")
        .set("image.tag", "ci").set("backend.type", "command"))).getMessage()
        .contains("commandBackend.dispatchCommand is required when backend.type=command"));
    assertTrue(assertThrows(IllegalStateException.class, () -> render(t -> t.set("image.tag", "ci"))).getMessage()
        .contains("worker.workerId is required"));
  }

  @Test
  void ownSettingsGoToTheConfConfigMapKey() throws Exception {
    List<HasMetadata> objects = render(t -> t.set("worker.workerId", "w").set("image.tag", "ci")
        .set("worker.conf.shutdown_grace_period", "45s").set("worker.collectTaskLogs", "true"));
    Container c = worker(objects);
    assertEquals(List.of("--config-file", "/etc/oz-agent-worker/config.yaml", "--conf", "/etc/oz-agent-worker/worker.json"),
        c.getArgs().subList(0, 4));
    assertNotNull(one(objects, ConfigMap.class).getData().get("worker.json"));
    assertEquals(Duration.ofSeconds(45), load(objects).getShutdownGracePeriod());
  }
}
