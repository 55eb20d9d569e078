package dev.oz.worker.kubernetes;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.oz.worker.backend.BackendCapabilities;
import dev.oz.worker.backend.BackendContext;
import dev.oz.worker.backend.BackendFactory;
import dev.oz.worker.backend.TaskBackend;
import dev.oz.worker.config.ConfigException;
import dev.oz.worker.config.Durations;
import dev.oz.worker.config.GoYamlBlock;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The {@code kubernetes} backend: its settings ({@code kubernetes} block, {@code backend.kubernetes} in the Go YAML,
 * two flags) and its creation. Its tasks outlive the worker: a shutdown leaves their Jobs running.
 */
public final class KubernetesBackendFactory implements BackendFactory<KubernetesOptions> {
  public static final String NAME = "kubernetes";
  /** How long a cancel (deleting the Job) may take before the lifecycle stops waiting for it. */
  static final Duration CANCEL_TIMEOUT = Duration.ofSeconds(30);

  /** The Go worker's {@code backend.kubernetes} schema, plus this worker's tuning keys. */
  record GoKubernetesBlock(
      @JsonProperty("namespace") String namespace,
      @JsonProperty("kubeconfig") String kubeconfig,
      @JsonProperty("default_image") String defaultImage,
      @JsonProperty("image_pull_policy") String imagePullPolicy,
      @JsonProperty("use_image_volumes") Boolean useImageVolumes,
      @JsonProperty("preflight_image") String preflightImage,
      @JsonProperty("preflight_resources") JsonNode preflightResources,
      @JsonProperty("sidecar_image") String sidecarImage,
      @JsonProperty("coding_cli_sidecars") Map<String, String> codingCliSidecars,
      @JsonProperty("setup_command") String setupCommand,
      @JsonProperty("teardown_command") String teardownCommand,
      @JsonProperty("extra_labels") Map<String, String> extraLabels,
      @JsonProperty("extra_annotations") Map<String, String> extraAnnotations,
      @JsonProperty("active_deadline_seconds") Long activeDeadlineSeconds,
      @JsonProperty("ttl_seconds_after_finished") Integer ttlSecondsAfterFinished,
      @JsonProperty("workspace_size_limit") String workspaceSizeLimit,
      @JsonProperty("unschedulable_timeout") String unschedulableTimeout,
      @JsonProperty("volume_mount_timeout") String volumeMountTimeout,
      @JsonProperty("sidecar_copy_readiness") Boolean sidecarCopyReadiness,
      @JsonProperty("pod_template") JsonNode podTemplate,
      @JsonProperty("preflight_timeout") String preflightTimeout,
      @JsonProperty("safety_poll_interval") String safetyPollInterval,
      @JsonProperty("request_timeout") String requestTimeout,
      @JsonProperty("cleanup_timeout") String cleanupTimeout,
      @JsonProperty("retry_backoff") String retryBackoff) {
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public List<Flag> flags() {
    return List.of(
        new Flag(List.of("--kubeconfig"), "PATH",
            "Kubeconfig for the kubernetes backend (default: in-cluster, else KUBECONFIG or ~/.kube/config)",
            (block, v) -> block.put("kubeconfig", v)),
        new Flag(List.of("--kubernetes-namespace"), "NAMESPACE", "Namespace of task Jobs (default \"default\")",
            (block, v) -> block.put("namespace", v)));
  }

  @Override
  public JsonObject fromGoYaml(GoYamlBlock yaml, Map<String, String> hostEnv) {
    GoKubernetesBlock k = yaml.bind(GoKubernetesBlock.class);
    JsonObject json = new JsonObject();
    if (k == null) {
      return json;
    }
    put(json, "namespace", k.namespace());
    put(json, "kubeconfig", k.kubeconfig());
    put(json, "default_image", k.defaultImage());
    put(json, "image_pull_policy", k.imagePullPolicy());
    put(json, "use_image_volumes", k.useImageVolumes());
    put(json, "preflight_image", k.preflightImage());
    put(json, "preflight_resources", object(yaml, "preflight_resources", k.preflightResources()));
    put(json, "sidecar_image", k.sidecarImage());
    put(json, "coding_cli_sidecars", k.codingCliSidecars() == null ? null : new JsonObject(Map.copyOf(k.codingCliSidecars())));
    put(json, "setup_command", k.setupCommand());
    put(json, "teardown_command", k.teardownCommand());
    put(json, "extra_labels", k.extraLabels() == null ? null : new JsonObject(Map.copyOf(k.extraLabels())));
    put(json, "extra_annotations", k.extraAnnotations() == null ? null : new JsonObject(Map.copyOf(k.extraAnnotations())));
    put(json, "active_deadline_seconds", k.activeDeadlineSeconds());
    put(json, "ttl_seconds_after_finished", k.ttlSecondsAfterFinished());
    put(json, "workspace_size_limit", k.workspaceSizeLimit());
    put(json, "unschedulable_timeout", duration(yaml, "unschedulable_timeout", k.unschedulableTimeout()));
    put(json, "volume_mount_timeout", duration(yaml, "volume_mount_timeout", k.volumeMountTimeout()));
    put(json, "sidecar_copy_readiness", k.sidecarCopyReadiness());
    put(json, "pod_template", object(yaml, "pod_template", k.podTemplate()));
    put(json, "preflight_timeout", duration(yaml, "preflight_timeout", k.preflightTimeout()));
    put(json, "safety_poll_interval", duration(yaml, "safety_poll_interval", k.safetyPollInterval()));
    put(json, "request_timeout", duration(yaml, "request_timeout", k.requestTimeout()));
    put(json, "cleanup_timeout", duration(yaml, "cleanup_timeout", k.cleanupTimeout()));
    put(json, "retry_backoff", duration(yaml, "retry_backoff", k.retryBackoff()));
    return json;
  }

  private static void put(JsonObject json, String key, Object value) {
    if (value != null) {
      json.put(key, value);
    }
  }

  /** Checked here so the message names the YAML file and key. */
  private static String duration(GoYamlBlock yaml, String key, String value) {
    if (value != null) {
      Durations.parse(yaml.setting(key), value);
    }
    return value;
  }

  private static JsonObject object(GoYamlBlock yaml, String key, JsonNode node) {
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isObject()) {
      throw new ConfigException(yaml.setting(key) + " must be a mapping");
    }
    return new JsonObject(node.toString());
  }

  @Override
  public KubernetesOptions options(JsonObject block, Map<String, String> hostEnv) {
    return KubernetesOptions.fromJson(block);
  }

  @Override
  public TaskBackend create(BackendContext<KubernetesOptions> context) {
    return new KubernetesBackend(context);
  }

  @Override
  public BackendCapabilities capabilities(KubernetesOptions options) {
    return new BackendCapabilities(true, CANCEL_TIMEOUT, false);
  }
}
