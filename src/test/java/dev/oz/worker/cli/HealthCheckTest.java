package dev.oz.worker.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The image's HEALTHCHECK finds the server where the worker's environment put it. */
class HealthCheckTest {
  private HttpServer server;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  @BeforeEach
  void setUp() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/healthz", exchange -> {
      byte[] body = "{\"status\":\"ok\"}".getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
  }

  @AfterEach
  void tearDown() {
    server.stop(0);
  }

  private int run(List<String> args, Map<String, String> env) {
    return HealthCheck.run(args, env, new PrintStream(out, true, StandardCharsets.UTF_8));
  }

  @Test
  void portFromOtelExporterPrometheusPortOnAWildcardBind() {
    String port = String.valueOf(server.getAddress().getPort());
    assertEquals(0, run(List.of(), Map.of("OTEL_EXPORTER_PROMETHEUS_PORT", port, "OTEL_EXPORTER_PROMETHEUS_HOST", "0.0.0.0")));
    assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("200 {\"status\":\"ok\"}"), out.toString(StandardCharsets.UTF_8));
  }

  @Test
  void portFlagWinsAndASpecificHostIsUsed() {
    String port = String.valueOf(server.getAddress().getPort());
    assertEquals(0, run(List.of("--port", port), Map.of("OTEL_EXPORTER_PROMETHEUS_PORT", "1",
        "OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1")));
    assertEquals(1, run(List.of(), Map.of("OTEL_EXPORTER_PROMETHEUS_PORT", port, "OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.2")),
        "asks the address the server was told to bind");
  }
}
