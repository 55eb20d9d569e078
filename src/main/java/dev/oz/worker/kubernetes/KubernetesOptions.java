package dev.oz.worker.kubernetes;

import com.fasterxml.jackson.annotation.JsonGetter;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonSetter;
import dev.oz.worker.config.ConfigException;
import dev.oz.worker.config.ConfigJson;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Settings of the Kubernetes backend: {@code kubernetes} in the JSON config, {@code backend.kubernetes} in the Go YAML
 * file, with the Go worker's keys and defaults (BACKENDS.md section 4, GO-WORKER-NEWER.md section 10). The one place
 * these settings are named, defaulted and validated.
 */
public class KubernetesOptions {
  public static final String DEFAULT_NAMESPACE = "default";
  public static final String DEFAULT_IMAGE = "ubuntu:22.04";
  public static final String DEFAULT_PREFLIGHT_IMAGE = "busybox:1.36";
  public static final String DEFAULT_PULL_POLICY = "IfNotPresent";
  public static final long DEFAULT_ACTIVE_DEADLINE_SECONDS = 8 * 60 * 60;
  public static final int DEFAULT_TTL_SECONDS_AFTER_FINISHED = 24 * 60 * 60;
  public static final Duration DEFAULT_UNSCHEDULABLE_TIMEOUT = Duration.ofMinutes(10);
  public static final Duration DEFAULT_VOLUME_MOUNT_TIMEOUT = Duration.ofMinutes(2);
  public static final Duration DEFAULT_PREFLIGHT_TIMEOUT = Duration.ofSeconds(15);
  public static final Duration DEFAULT_SAFETY_POLL_INTERVAL = Duration.ofSeconds(30);
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration DEFAULT_CLEANUP_TIMEOUT = Duration.ofMinutes(2);
  public static final Duration DEFAULT_RETRY_BACKOFF = Duration.ofSeconds(1);
  static final Set<String> PULL_POLICIES = Set.of("Always", "Never", "IfNotPresent");

  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  private String namespace = DEFAULT_NAMESPACE;
  private String kubeconfig;
  private String defaultImage;
  private String imagePullPolicy = DEFAULT_PULL_POLICY;
  private boolean useImageVolumes;
  private String preflightImage = DEFAULT_PREFLIGHT_IMAGE;
  private transient ResourceRequirements preflightResources;
  private String sidecarImage;
  private Map<String, String> codingCliSidecars = new TreeMap<>();
  private String setupCommand;
  private String teardownCommand;
  private Map<String, String> extraLabels = new TreeMap<>();
  private Map<String, String> extraAnnotations = new TreeMap<>();
  private long activeDeadlineSeconds = DEFAULT_ACTIVE_DEADLINE_SECONDS;
  private int ttlSecondsAfterFinished = DEFAULT_TTL_SECONDS_AFTER_FINISHED;
  private String workspaceSizeLimit;
  private Duration unschedulableTimeout = DEFAULT_UNSCHEDULABLE_TIMEOUT;
  private Duration volumeMountTimeout = DEFAULT_VOLUME_MOUNT_TIMEOUT;
  private boolean sidecarCopyReadiness;
  private transient PodSpec podTemplate;
  private Duration preflightTimeout = DEFAULT_PREFLIGHT_TIMEOUT;
  private Duration safetyPollInterval = DEFAULT_SAFETY_POLL_INTERVAL;
  private Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;
  private Duration cleanupTimeout = DEFAULT_CLEANUP_TIMEOUT;
  private Duration retryBackoff = DEFAULT_RETRY_BACKOFF;

  public KubernetesOptions() {
  }

  /** Reads and validates the {@code kubernetes} block; unknown keys are errors naming {@code kubernetes.<key>}. */
  public static KubernetesOptions fromJson(JsonObject block) {
    KubernetesOptions o = ConfigJson.read(block, KubernetesOptions.class, KubernetesBackendFactory.NAME);
    o.validate();
    return o;
  }

  /** {@code pod_template}: a Kubernetes PodSpec, strictly (see {@link #parseModel}); {@code {}} is none. */
  @JsonSetter("pod_template")
  private void podTemplateSetting(Map<String, Object> json) {
    podTemplate = json.isEmpty() ? null : parseModel(new JsonObject(json), PodSpec.class);
  }

  @JsonGetter("pod_template")
  private Map<String, Object> podTemplateSetting() {
    return podTemplate == null ? null : new JsonObject(SERIALIZATION.asJson(podTemplate)).getMap();
  }

  /** {@code preflight_resources}: Kubernetes ResourceRequirements; {@code {}} is none. */
  @JsonSetter("preflight_resources")
  private void preflightResourcesSetting(Map<String, Object> json) {
    preflightResources = json.isEmpty() ? null : parseModel(new JsonObject(json), ResourceRequirements.class);
  }

  @JsonGetter("preflight_resources")
  private Map<String, Object> preflightResourcesSetting() {
    return preflightResources == null ? null : new JsonObject(SERIALIZATION.asJson(preflightResources)).getMap();
  }

  private static <T> T parseModel(JsonObject json, Class<T> type) {
    try {
      return parseModel("", json, type);
    } catch (ConfigException e) {
      throw ConfigJson.refuse(e);
    }
  }

  /**
   * Parses Kubernetes YAML/JSON into the fabric8 model, strictly: a field the model does not know (a typo such as
   * {@code nodeselector}) is an error, where the Go worker would silently drop it.
   */
  static <T> T parseModel(String setting, JsonObject json, Class<T> type) {
    T parsed;
    try {
      parsed = SERIALIZATION.unmarshal(json.encode(), type);
    } catch (RuntimeException e) {
      throw new ConfigException(setting + ": not a valid Kubernetes " + type.getSimpleName() + ": "
          + describe(rootCause(e)), e);
    }
    List<String> unknown = ModelFields.unknownFields(parsed);
    if (!unknown.isEmpty()) {
      throw new ConfigException(setting + ": unknown field" + (unknown.size() > 1 ? "s " : " ")
          + String.join(", ", unknown) + " (not part of a Kubernetes " + type.getSimpleName() + ")");
    }
    return parsed;
  }

  /** Jackson's own words and the field path ({@code containers}), without its source excerpt. */
  private static String describe(Throwable cause) {
    if (cause instanceof tools.jackson.databind.DatabindException d) {
      String at = d.getPath().stream()
          .map(ref -> ref.getPropertyName() != null ? "." + ref.getPropertyName() : "[" + ref.getIndex() + "]")
          .reduce("", String::concat);
      return (at.isEmpty() ? "" : "at " + at.substring(at.startsWith(".") ? 1 : 0) + ": ")
          + firstLine(d.getOriginalMessage());
    }
    return firstLine(cause.getMessage());
  }

  private static Throwable rootCause(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t;
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "";
    }
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }

  public void validate() {
    String k = KubernetesBackendFactory.NAME + ".";
    if (namespace == null || namespace.isBlank()) {
      throw new ConfigException(k + "namespace must not be empty");
    }
    noWhitespace(k + "default_image", defaultImage);
    noWhitespace(k + "preflight_image", preflightImage);
    noWhitespace(k + "sidecar_image", sidecarImage);
    codingCliSidecars.forEach((harness, image) -> {
      if (harness.isBlank()) {
        throw new ConfigException(k + "coding_cli_sidecars: empty harness name");
      }
      noWhitespace(k + "coding_cli_sidecars." + harness, image);
    });
    if (preflightImage == null || preflightImage.isBlank()) {
      throw new ConfigException(k + "preflight_image must not be empty");
    }
    if (!PULL_POLICIES.contains(imagePullPolicy)) {
      throw new ConfigException(k + "image_pull_policy must be one of Always, Never, IfNotPresent; got \""
          + imagePullPolicy + "\"");
    }
    if (activeDeadlineSeconds < 0) {
      throw new ConfigException(k + "active_deadline_seconds must not be negative (0 means no deadline)");
    }
    if (ttlSecondsAfterFinished < 0) {
      throw new ConfigException(k + "ttl_seconds_after_finished must not be negative");
    }
    if (workspaceSizeLimit != null && !workspaceSizeLimit.isEmpty()) {
      try {
        Quantity.getAmountInBytes(new Quantity(workspaceSizeLimit));
      } catch (RuntimeException e) {
        throw new ConfigException(k + "workspace_size_limit: invalid quantity \"" + workspaceSizeLimit
            + "\" (use e.g. 10Gi or 500M)");
      }
    }
    for (Map.Entry<String, Duration> d : Map.of("unschedulable_timeout", unschedulableTimeout,
        "volume_mount_timeout", volumeMountTimeout).entrySet()) {
      if (d.getValue().isNegative()) {
        throw new ConfigException(k + d.getKey() + " must not be negative (0s disables it)");
      }
    }
    for (Map.Entry<String, Duration> d : Map.of("preflight_timeout", preflightTimeout, "safety_poll_interval",
        safetyPollInterval, "request_timeout", requestTimeout, "cleanup_timeout", cleanupTimeout, "retry_backoff", retryBackoff).entrySet()) {
      if (d.getValue().isNegative() || d.getValue().isZero()) {
        throw new ConfigException(k + d.getKey() + " must be positive");
      }
    }
    if (sidecarCopyReadiness && useImageVolumes) {
      throw new ConfigException(k + "sidecar_copy_readiness and " + k
          + "use_image_volumes exclude each other: image volumes need no copy");
    }
    Labels.checkExtraLabels(k + "extra_labels", extraLabels);
  }

  private static void noWhitespace(String setting, String value) {
    if (value != null && value.chars().anyMatch(c -> c == ' ' || c == '\t')) {
      throw new ConfigException(setting + " must not contain whitespace");
    }
  }

  public JsonObject toJson() {
    return ConfigJson.toJson(this);
  }

  /** Namespace of task Jobs; the Go default is {@code default}, the chart sets the release namespace. */
  public String getNamespace() {
    return namespace;
  }

  public KubernetesOptions setNamespace(String namespace) {
    this.namespace = namespace;
    return this;
  }

  /** Kubeconfig file; null means in-cluster config, else {@code KUBECONFIG} or {@code ~/.kube/config}. */
  public String getKubeconfig() {
    return kubeconfig;
  }

  public KubernetesOptions setKubeconfig(String kubeconfig) {
    this.kubeconfig = kubeconfig == null || kubeconfig.isBlank() ? null : kubeconfig;
    return this;
  }

  /** Image for assignments that name none; null means {@link #DEFAULT_IMAGE}. */
  public String getDefaultImage() {
    return defaultImage;
  }

  public KubernetesOptions setDefaultImage(String defaultImage) {
    this.defaultImage = defaultImage == null || defaultImage.isEmpty() ? null : defaultImage;
    return this;
  }

  public String getImagePullPolicy() {
    return imagePullPolicy;
  }

  public KubernetesOptions setImagePullPolicy(String imagePullPolicy) {
    this.imagePullPolicy = imagePullPolicy == null || imagePullPolicy.isEmpty() ? DEFAULT_PULL_POLICY : imagePullPolicy;
    return this;
  }

  public boolean isUseImageVolumes() {
    return useImageVolumes;
  }

  public KubernetesOptions setUseImageVolumes(boolean useImageVolumes) {
    this.useImageVolumes = useImageVolumes;
    return this;
  }

  public String getPreflightImage() {
    return preflightImage;
  }

  public KubernetesOptions setPreflightImage(String preflightImage) {
    this.preflightImage = preflightImage == null || preflightImage.isEmpty() ? DEFAULT_PREFLIGHT_IMAGE : preflightImage;
    return this;
  }

  /** Resources of the preflight Job's containers: requests 10m/16Mi, limits 100m/64Mi unless configured. */
  public ResourceRequirements getPreflightResources() {
    if (preflightResources != null) {
      return preflightResources;
    }
    return new ResourceRequirementsBuilder()
        .addToRequests("cpu", new Quantity("10m")).addToRequests("memory", new Quantity("16Mi"))
        .addToLimits("cpu", new Quantity("100m")).addToLimits("memory", new Quantity("64Mi"))
        .build();
  }

  @JsonIgnore // bound by preflightResourcesSetting
  public KubernetesOptions setPreflightResources(ResourceRequirements preflightResources) {
    this.preflightResources = preflightResources;
    return this;
  }

  /** Replaces the server's agent sidecar image ({@code /agent}) when one is sent. */
  public String getSidecarImage() {
    return sidecarImage;
  }

  public KubernetesOptions setSidecarImage(String sidecarImage) {
    this.sidecarImage = sidecarImage == null || sidecarImage.isEmpty() ? null : sidecarImage;
    return this;
  }

  /** Harness name to image, mounted at {@code /mnt/<harness>-cli-sidecar}. */
  public Map<String, String> getCodingCliSidecars() {
    return codingCliSidecars;
  }

  public KubernetesOptions setCodingCliSidecars(Map<String, String> codingCliSidecars) {
    this.codingCliSidecars = new TreeMap<>(codingCliSidecars);
    return this;
  }

  public String getSetupCommand() {
    return setupCommand;
  }

  public KubernetesOptions setSetupCommand(String setupCommand) {
    this.setupCommand = setupCommand == null || setupCommand.isEmpty() ? null : setupCommand;
    return this;
  }

  public String getTeardownCommand() {
    return teardownCommand;
  }

  public KubernetesOptions setTeardownCommand(String teardownCommand) {
    this.teardownCommand = teardownCommand == null || teardownCommand.isEmpty() ? null : teardownCommand;
    return this;
  }

  public Map<String, String> getExtraLabels() {
    return extraLabels;
  }

  public KubernetesOptions setExtraLabels(Map<String, String> extraLabels) {
    this.extraLabels = new TreeMap<>(extraLabels);
    return this;
  }

  public Map<String, String> getExtraAnnotations() {
    return extraAnnotations;
  }

  public KubernetesOptions setExtraAnnotations(Map<String, String> extraAnnotations) {
    this.extraAnnotations = new TreeMap<>(extraAnnotations);
    return this;
  }

  /** The Job's {@code activeDeadlineSeconds}; 0 sets none. */
  public long getActiveDeadlineSeconds() {
    return activeDeadlineSeconds;
  }

  public KubernetesOptions setActiveDeadlineSeconds(long activeDeadlineSeconds) {
    this.activeDeadlineSeconds = activeDeadlineSeconds;
    return this;
  }

  /** How long finished Jobs the worker leaves in place (failed, orphaned) are kept; unused when cleanup is off. */
  public int getTtlSecondsAfterFinished() {
    return ttlSecondsAfterFinished;
  }

  public KubernetesOptions setTtlSecondsAfterFinished(int ttlSecondsAfterFinished) {
    this.ttlSecondsAfterFinished = ttlSecondsAfterFinished;
    return this;
  }

  /** Size limit of the workspace {@code emptyDir}, a Kubernetes quantity; null means none. */
  public String getWorkspaceSizeLimit() {
    return workspaceSizeLimit;
  }

  public KubernetesOptions setWorkspaceSizeLimit(String workspaceSizeLimit) {
    this.workspaceSizeLimit = workspaceSizeLimit == null || workspaceSizeLimit.isEmpty() ? null : workspaceSizeLimit;
    return this;
  }

  /** How long a pod may stay unschedulable (autoscalers need minutes); zero never fails it. */
  public Duration getUnschedulableTimeout() {
    return unschedulableTimeout;
  }

  public KubernetesOptions setUnschedulableTimeout(Duration unschedulableTimeout) {
    this.unschedulableTimeout = unschedulableTimeout;
    return this;
  }

  /** How long {@code FailedMount} events may go on before the task fails; zero never fails it. */
  public Duration getVolumeMountTimeout() {
    return volumeMountTimeout;
  }

  public KubernetesOptions setVolumeMountTimeout(Duration volumeMountTimeout) {
    this.volumeMountTimeout = volumeMountTimeout;
    return this;
  }

  /** Copy sidecars run as native sidecars gated by a startup probe instead of plain init containers. */
  public boolean isSidecarCopyReadiness() {
    return sidecarCopyReadiness;
  }

  public KubernetesOptions setSidecarCopyReadiness(boolean sidecarCopyReadiness) {
    this.sidecarCopyReadiness = sidecarCopyReadiness;
    return this;
  }

  /** The operator's PodSpec that task pods start from; null means an empty one. */
  public PodSpec getPodTemplate() {
    return podTemplate;
  }

  @JsonIgnore // bound by podTemplateSetting
  public KubernetesOptions setPodTemplate(PodSpec podTemplate) {
    this.podTemplate = podTemplate;
    return this;
  }

  public Duration getPreflightTimeout() {
    return preflightTimeout;
  }

  public KubernetesOptions setPreflightTimeout(Duration preflightTimeout) {
    this.preflightTimeout = preflightTimeout;
    return this;
  }

  /** How often a running task's Job and pods are re-read in case a watch missed something. */
  public Duration getSafetyPollInterval() {
    return safetyPollInterval;
  }

  public KubernetesOptions setSafetyPollInterval(Duration safetyPollInterval) {
    this.safetyPollInterval = safetyPollInterval;
    return this;
  }

  /** Time limit of one API request (and of opening a watch). */
  public Duration getRequestTimeout() {
    return requestTimeout;
  }

  public KubernetesOptions setRequestTimeout(Duration requestTimeout) {
    this.requestTimeout = requestTimeout;
    return this;
  }

  /** Time limit of deleting or expiring a finished task's Job, retries included. */
  public Duration getCleanupTimeout() {
    return cleanupTimeout;
  }

  public KubernetesOptions setCleanupTimeout(Duration cleanupTimeout) {
    this.cleanupTimeout = cleanupTimeout;
    return this;
  }

  /** The first retry delay of a transient API error; later ones double up to ten times it. */
  public Duration getRetryBackoff() {
    return retryBackoff;
  }

  public KubernetesOptions setRetryBackoff(Duration retryBackoff) {
    this.retryBackoff = retryBackoff;
    return this;
  }
}
