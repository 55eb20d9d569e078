package dev.oz.worker.cli;

import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/**
 * {@code java -jar worker-fat.jar healthcheck [--port N]}: exit 0 when the local worker's {@code /healthz}
 * answers 200. For the image's HEALTHCHECK, which cannot count on curl being installed.
 */
final class HealthCheck {
  private HealthCheck() {
  }

  static int run(List<String> args, PrintStream out) {
    int port = 9464;
    for (int i = 0; i < args.size(); i++) {
      if (args.get(i).equals("--port") && i + 1 < args.size()) {
        port = Integer.parseInt(args.get(++i));
      }
    }
    try {
      HttpResponse<String> r = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/healthz")).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString());
      out.println(r.statusCode() + " " + r.body());
      return r.statusCode() == 200 ? 0 : 1;
    } catch (Exception e) {
      out.println("unhealthy: " + e);
      return 1;
    }
  }
}
