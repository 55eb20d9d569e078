package dev.oz.worker.cli;

import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code java -jar worker-fat.jar healthcheck [--port N]}: exit 0 when the local worker's {@code /healthz}
 * answers 200. For the image's HEALTHCHECK, which cannot count on curl being installed. It runs with the
 * worker's environment, so it finds the server where {@code OTEL_EXPORTER_PROMETHEUS_HOST}/{@code _PORT} put
 * it; {@code --port} wins (for a worker started with {@code --metrics-port}).
 */
final class HealthCheck {
  private static final Set<String> WILDCARDS = Set.of("0.0.0.0", "::", "[::]", "localhost");

  private HealthCheck() {
  }

  static int run(List<String> args, Map<String, String> env, PrintStream out) {
    String port = env.getOrDefault("OTEL_EXPORTER_PROMETHEUS_PORT", "").trim();
    if (port.isEmpty()) {
      port = "9464";
    }
    for (int i = 0; i < args.size(); i++) {
      if (args.get(i).equals("--port") && i + 1 < args.size()) {
        port = args.get(++i);
      }
    }
    String host = env.getOrDefault("OTEL_EXPORTER_PROMETHEUS_HOST", "").trim();
    if (host.isEmpty() || WILDCARDS.contains(host)) {
      host = "127.0.0.1"; // a wildcard bind answers on loopback too
    } else if (host.contains(":") && !host.startsWith("[")) {
      host = "[" + host + "]";
    }
    try {
      URI uri = URI.create("http://" + host + ":" + Integer.parseInt(port) + "/healthz");
      HttpResponse<String> r = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build().send(
          HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
      out.println(r.statusCode() + " " + r.body());
      return r.statusCode() == 200 ? 0 : 1;
    } catch (Exception e) {
      out.println("unhealthy: " + e);
      return 1;
    }
  }
}
