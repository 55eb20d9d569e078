package dev.oz.worker.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.oz.worker.config.ConfigException;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every key of the {@code kubernetes} block: defaults as the Go worker's, and the message each bad value gets. */
class KubernetesOptionsTest {

  private static String error(String json) {
    return assertThrows(ConfigException.class, () -> KubernetesOptions.fromJson(new JsonObject(json))).getMessage();
  }

  @Test
  void defaults() {
    KubernetesOptions o = KubernetesOptions.fromJson(new JsonObject());
    assertEquals("default", o.getNamespace());
    assertNull(o.getKubeconfig());
    assertNull(o.getDefaultImage());
    assertEquals("IfNotPresent", o.getImagePullPolicy());
    assertFalse(o.isUseImageVolumes());
    assertEquals("busybox:1.36", o.getPreflightImage());
    assertEquals(28800, o.getActiveDeadlineSeconds(), "8 h");
    assertEquals(86400, o.getTtlSecondsAfterFinished(), "24 h");
    assertEquals(Duration.ofMinutes(10), o.getUnschedulableTimeout(), "autoscalers get ten minutes to find a node");
    assertEquals(Duration.ofMinutes(2), o.getVolumeMountTimeout());
    assertFalse(o.isSidecarCopyReadiness());
    assertEquals(Duration.ofSeconds(15), o.getPreflightTimeout());
    assertEquals(Duration.ofSeconds(30), o.getSafetyPollInterval());
    assertEquals(Duration.ofSeconds(30), o.getRequestTimeout());
    assertEquals(Duration.ofMinutes(2), o.getCleanupTimeout());
    assertEquals(Duration.ofSeconds(1), o.getRetryBackoff(), "1 s doubling to 10 s, as the Go worker");
    assertEquals(Map.of("cpu", "10m", "memory", "16Mi"), amounts(o.getPreflightResources().getRequests()));
    assertEquals(Map.of("cpu", "100m", "memory", "64Mi"), amounts(o.getPreflightResources().getLimits()));
  }

  private static Map<String, String> amounts(Map<String, io.fabric8.kubernetes.api.model.Quantity> q) {
    java.util.TreeMap<String, String> out = new java.util.TreeMap<>();
    q.forEach((k, v) -> out.put(k, v.toString()));
    return out;
  }

  @Test
  void everyKeyRoundTrips() {
    JsonObject all = new JsonObject("""
        {"namespace": "agents", "kubeconfig": "/etc/kube/config", "default_image": "dev:1",
         "image_pull_policy": "Never", "use_image_volumes": true, "preflight_image": "probe:1",
         "preflight_resources": {"limits": {"cpu": "50m"}}, "sidecar_image": "agent:2",
         "coding_cli_sidecars": {"claude": "claude:3"}, "setup_command": "make setup", "teardown_command": "make down",
         "extra_labels": {"team": "a"}, "extra_annotations": {"a/b": "c d"}, "active_deadline_seconds": 60,
         "ttl_seconds_after_finished": 0, "workspace_size_limit": "5Gi", "unschedulable_timeout": "0s",
         "volume_mount_timeout": "30s", "sidecar_copy_readiness": false,
         "pod_template": {"serviceAccountName": "runner"}, "preflight_timeout": "1m", "safety_poll_interval": "5s",
         "request_timeout": "10s", "cleanup_timeout": "1m", "retry_backoff": "100ms"}""");
    assertEquals(all, KubernetesOptions.fromJson(all).toJson());
  }

  @Test
  void badValuesNameTheirKey() {
    assertEquals("unknown setting in kubernetes: namepsace", error("{\"namepsace\": \"x\"}"));
    assertEquals("kubernetes.image_pull_policy must be one of Always, Never, IfNotPresent; got \"always\"",
        error("{\"image_pull_policy\": \"always\"}"));
    assertEquals("kubernetes.default_image must not contain whitespace", error("{\"default_image\": \"a b\"}"));
    assertEquals("kubernetes.coding_cli_sidecars.claude must not contain whitespace",
        error("{\"coding_cli_sidecars\": {\"claude\": \"a\\tb\"}}"));
    assertEquals("kubernetes.workspace_size_limit: invalid quantity \"ten gigs\" (use e.g. 10Gi or 500M)",
        error("{\"workspace_size_limit\": \"ten gigs\"}"));
    assertEquals("kubernetes.unschedulable_timeout: invalid duration \"10 minutes\" (use a value like \"250ms\", \"10s\" or \"1m30s\")",
        error("{\"unschedulable_timeout\": \"10 minutes\"}"));
    assertEquals("kubernetes.active_deadline_seconds must not be negative (0 means no deadline)",
        error("{\"active_deadline_seconds\": -1}"));
    assertEquals("kubernetes.sidecar_copy_readiness and kubernetes.use_image_volumes exclude each other: image volumes need no copy",
        error("{\"sidecar_copy_readiness\": true, \"use_image_volumes\": true}"));
    assertEquals("kubernetes.extra_labels: \"oz-task-id\" is reserved for the worker's own labels",
        error("{\"extra_labels\": {\"oz-task-id\": \"x\"}}"));
    assertEquals("kubernetes.extra_labels.team: invalid label value \"a b\" (at most 63 letters, digits, '-', '_' or '.', "
        + "starting and ending with a letter or digit)", error("{\"extra_labels\": {\"team\": \"a b\"}}"));
    assertEquals("kubernetes.extra_labels.team must be a string, got 1", error("{\"extra_labels\": {\"team\": 1}}"));
    assertEquals("kubernetes.safety_poll_interval must be positive", error("{\"safety_poll_interval\": \"0s\"}"));
  }

  @Test
  void podTemplateIsAPodSpecWithoutUnknownFields() {
    assertEquals("kubernetes.pod_template: unknown fields containers[0].imagePulPolicy, nodeselector (not part of a "
        + "Kubernetes PodSpec)", error("""
        {"pod_template": {"nodeselector": {"a": "b"}, "containers": [{"name": "task", "imagePulPolicy": "Always"}]}}"""));
    assertEquals("kubernetes.preflight_resources: unknown field limit (not part of a Kubernetes ResourceRequirements)",
        error("{\"preflight_resources\": {\"limit\": {\"cpu\": \"1\"}}}"));
    assertEquals("kubernetes.pod_template: not a valid Kubernetes PodSpec: at containers: Cannot deserialize value of "
        + "type `java.util.ArrayList<io.fabric8.kubernetes.api.model.Container>` from String value (token "
        + "`JsonToken.VALUE_STRING`)", error("{\"pod_template\": {\"containers\": \"task\"}}"));
    assertEquals("runner", KubernetesOptions.fromJson(new JsonObject("{\"pod_template\": {\"serviceAccountName\": \"runner\"}}"))
        .getPodTemplate().getServiceAccountName());
  }
}
