package dev.oz.worker.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.oz.worker.testing.FakeBackend;
import dev.oz.worker.testing.WorkerHarness;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The dashboard and alert rules against what a worker really serves on {@code /metrics}: every metric name their
 * queries use, and every label value they select on, must be in a live scrape (a renamed metric or reason breaks the
 * build); the rules file has what Prometheus requires; the chart ships the same rules.
 */
class GrafanaAssetsTest {
  private static final Path DASHBOARD = Path.of("grafana/oz-agent-worker-overview.json");
  private static final Path ALERTS = Path.of("grafana/alerts.yaml");
  private static final Pattern METRIC = Pattern.compile("\\b((?:oz_worker|jvm|process|vertx)_[a-z0-9_]+)\\b");
  private static final Pattern SELECTOR = Pattern.compile("\\b([a-z_][a-z0-9_]*)\\{([^}]*)}");
  private static final Pattern EXACT_MATCHER = Pattern.compile("([a-z_]+)=\"([^\"]*)\"");
  private static final Pattern DURATION = Pattern.compile("\\d+(ms|s|m|h|d|w|y)");

  static String scrape;

  @BeforeAll
  static void scrapeAWorker() throws Exception {
    try (WorkerHarness h = WorkerHarness.create(new FakeBackend())) {
      h.options().setWorkerId("catalog-worker").setMaxConcurrentTasks(2).getMetrics().setEnabled(true).setPort(0)
          .setHost("127.0.0.1");
      h.deploy();
      scrape = h.get("/metrics").body();
    }
  }

  @AfterAll
  static void clear() {
    scrape = null;
  }

  /** Series names in the scrape (histograms as their _bucket, _count and _sum series). */
  static Set<String> served() {
    Set<String> names = new TreeSet<>();
    for (String line : scrape.lines().toList()) {
      if (!line.isBlank() && !line.startsWith("#")) {
        names.add(line.split("[{ ]", 2)[0]);
      }
    }
    return names;
  }

  /** Every metric and {@code label="value"} selector of a query must exist in the scrape. */
  static void checkQuery(String where, String expr, Set<String> served, Set<String> used) {
    Matcher m = METRIC.matcher(expr);
    while (m.find()) {
      assertTrue(served.contains(m.group(1)), where + ": metric " + m.group(1) + " is not served by the worker");
      used.add(m.group(1));
    }
    Matcher s = SELECTOR.matcher(expr);
    while (s.find()) {
      Matcher l = EXACT_MATCHER.matcher(s.group(2));
      while (l.find()) {
        String series = s.group(1) + "{";
        String label = l.group(1) + "=\"" + l.group(2) + "\"";
        assertTrue(scrape.lines().anyMatch(line -> line.startsWith(series) && line.contains(label)),
            where + ": no series " + s.group(1) + " with " + label);
      }
    }
  }

  @Test
  void everyDashboardQueryUsesServedMetrics() throws Exception {
    JsonNode dashboard = new ObjectMapper().readTree(Files.readString(DASHBOARD));
    Set<String> served = served();
    Set<String> used = new TreeSet<>();
    List<String> titles = new ArrayList<>();
    for (JsonNode panel : dashboard.get("panels")) {
      titles.add(panel.get("title").asText());
      for (JsonNode target : panel.path("targets")) {
        checkQuery("panel \"" + panel.get("title").asText() + "\"", target.get("expr").asText(), served, used);
      }
    }
    for (JsonNode variable : dashboard.at("/templating/list")) {
      checkQuery("variable " + variable.get("name").asText(), variable.path("definition").asText(), served, used);
    }
    assertTrue(used.containsAll(Set.of("oz_worker_connected", "oz_worker_tasks_active", "oz_worker_tasks_max_concurrent",
        "oz_worker_tasks_completed_total", "oz_worker_task_failures_total", "oz_worker_task_duration_seconds_bucket",
        "oz_worker_websocket_reconnects_total", "oz_worker_log_stream_sent_bytes_total",
        "oz_worker_log_stream_dropped_bytes_total")), "capacity, outcomes, durations, connection, logs: " + used);
    assertTrue(titles.containsAll(List.of("Fleet capacity and saturation", "Task outcomes and failure reasons",
        "Durations", "Connection", "Task output")), titles.toString());
  }

  @Test
  void alertRulesAreValidPrometheusRulesOnServedMetrics() throws Exception {
    JsonNode rules = new ObjectMapper(new YAMLFactory()).readTree(Files.readString(ALERTS));
    Set<String> served = served();
    Set<String> used = new TreeSet<>();
    Set<String> alerts = new TreeSet<>();
    assertFalse(rules.get("groups").isEmpty());
    for (JsonNode group : rules.get("groups")) {
      assertFalse(group.path("name").asText().isBlank(), "a group needs a name");
      assertTrue(DURATION.matcher(group.path("interval").asText("60s")).matches());
      for (JsonNode rule : group.get("rules")) {
        String alert = rule.path("alert").asText();
        assertFalse(alert.isBlank(), "alerting rules only: " + rule);
        assertFalse(rule.has("record"), alert + ": alert and record exclude each other");
        assertTrue(alerts.add(alert), "duplicate alert " + alert);
        assertFalse(rule.path("expr").asText().isBlank(), alert + " needs expr");
        assertTrue(DURATION.matcher(rule.path("for").asText()).matches(), alert + ": for is a duration");
        assertTrue(Set.of("critical", "warning", "info").contains(rule.at("/labels/severity").asText()), alert);
        assertFalse(rule.at("/annotations/summary").asText().isBlank(), alert + " needs a summary");
        checkQuery("alert " + alert, rule.get("expr").asText(), served, used);
      }
    }
    assertTrue(alerts.containsAll(Set.of("OzWorkerFleetSaturated", "OzWorkerHighFailureRate", "OzWorkerReconnectStorm",
        "OzWorkerDisconnected", "OzWorkerFleetEmpty", "OzWorkerTasksRejected", "OzWorkerImagePullFailures",
        "OzWorkerContainerOOM", "OzWorkerUnschedulablePods", "OzWorkerBackendUnavailable")), alerts.toString());
  }

  @Test
  void theChartShipsTheSameRulesAsAPrometheusRule() throws Exception {
    assertEquals(Files.readString(ALERTS), Files.readString(HelmChartTest.CHART.resolve("files/alerts.yaml")),
        "charts/oz-agent-worker/files/alerts.yaml must be a copy of grafana/alerts.yaml");
    List<HasMetadata> off = HelmChartTest.render(t -> t.set("worker.workerId", "w").set("image.tag", "ci")
        .set("metrics.enabled", "true"));
    assertTrue(off.stream().noneMatch(o -> o.getKind().equals("PrometheusRule")), "optional");
    List<HasMetadata> on = HelmChartTest.render(t -> t.set("worker.workerId", "w").set("image.tag", "ci")
        .set("metrics.enabled", "true").set("metrics.prometheusRule.create", "true")
        .set("metrics.prometheusRule.additionalLabels.release", "prometheus"));
    GenericKubernetesResource rule = on.stream().filter(o -> o.getKind().equals("PrometheusRule"))
        .map(GenericKubernetesResource.class::cast).findFirst().orElseThrow();
    assertEquals("prometheus", rule.getMetadata().getLabels().get("release"));
    ObjectMapper json = new ObjectMapper();
    assertEquals(new ObjectMapper(new YAMLFactory()).readTree(Files.readString(ALERTS)).get("groups"),
        json.valueToTree(rule.getAdditionalProperties().get("spec")).get("groups"));
  }
}
