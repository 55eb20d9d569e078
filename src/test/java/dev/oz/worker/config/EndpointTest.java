package dev.oz.worker.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.oz.worker.cli.CommandLineAccess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The endpoint a worker dials and the server root it gives agents, for every key source and override. */
class EndpointTest {
  private static final String HOSTED_WS = "wss://oz.warp.dev/api/v1/selfhosted/worker/ws";
  private static final String HOSTED_ROOT = "https://app.warp.dev";
  private static final String LOCAL_WS = "ws://localhost:8080/api/v1/selfhosted/worker/ws";
  private static final String LOCAL_ROOT = "http://localhost:8080";

  @TempDir
  Path dir;

  private static WorkerOptions load(String conf, Path yaml, Map<String, String> env, String... flags) {
    List<String> all = new java.util.ArrayList<>(List.of("--worker-id", "w"));
    all.addAll(List.of(flags));
    return CommandLineAccess.load(all, conf, yaml, env);
  }

  private static void assertEndpoint(String ws, String root, String why, WorkerOptions o) {
    assertEquals(ws, o.getWsUrl());
    assertEquals(root, o.getServerRootUrl());
    assertEquals(why, o.getEndpoint().why());
  }

  @Test
  void warpApiKeyMeansHostedOz() {
    assertEndpoint(HOSTED_WS, HOSTED_ROOT, "endpoint: hosted Oz (WARP_API_KEY, no OZ_WS_URL)",
        load(null, null, Map.of("WARP_API_KEY", "wk-1")));
  }

  @Test
  void apiKeyFlagMeansHostedOzEvenWithOzApiKeyInTheEnvironment() {
    assertEndpoint(HOSTED_WS, HOSTED_ROOT, "endpoint: hosted Oz (--api-key, no OZ_WS_URL)",
        load(null, null, Map.of("OZ_API_KEY", "oz-1"), "--api-key", "wk-1"));
  }

  @Test
  void ozApiKeyMeansSelfHostedAtLocalhost() {
    assertEndpoint(LOCAL_WS, LOCAL_ROOT,
        "endpoint: self-hosted control plane at " + LOCAL_WS + " (OZ_API_KEY, no OZ_WS_URL)",
        load(null, null, Map.of("OZ_API_KEY", "oz-1", "WARP_API_KEY", "wk-1")));
  }

  @Test
  void keyFromTheConfigurationMeansHostedOz() {
    assertEndpoint(HOSTED_WS, HOSTED_ROOT, "endpoint: hosted Oz (api_key in the configuration, no OZ_WS_URL)",
        load("{\"api_key\": \"k\"}", null, Map.of()));
  }

  @Test
  void explicitUrlsWinFromEverySource() throws Exception {
    String ws = "ws://cp.internal:9000/api/v1/selfhosted/worker/ws";
    String root = "http://cp.internal:9000";
    String configured = "endpoint: self-hosted control plane at " + ws + " (configured)";
    Map<String, String> hostedKey = Map.of("WARP_API_KEY", "wk");
    assertEndpoint(ws, root, configured, load(null, null, hostedKey, "--ws-url", ws, "--server-root-url", root));
    assertEndpoint(ws, root, configured,
        load(null, null, Map.of("WARP_API_KEY", "wk", "OZ_WS_URL", ws, "OZ_SERVER_ROOT_URL", root)));
    assertEndpoint(ws, root, configured,
        load("{\"ws_url\": \"" + ws + "\", \"server_root_url\": \"" + root + "\"}", null, hostedKey));
    Path yaml = Files.writeString(dir.resolve("w.yaml"), "worker_id: w\n");
    assertEndpoint(ws, root, configured, load(null, yaml, hostedKey, "--web-socket-url", ws, "--server-root-url", root));
    assertEndpoint(HOSTED_WS, HOSTED_ROOT, "endpoint: hosted Oz at " + HOSTED_WS + " (configured)",
        load(null, null, Map.of("OZ_API_KEY", "k"), "--ws-url", HOSTED_WS, "--server-root-url", HOSTED_ROOT));
  }

  @Test
  void aConfiguredWebSocketUrlBringsItsOwnServerRoot() {
    assertEndpoint("wss://cp.example.com/api/v1/selfhosted/worker/ws", "https://cp.example.com",
        "endpoint: self-hosted control plane at wss://cp.example.com/api/v1/selfhosted/worker/ws"
            + " (configured; no server root URL set, so https://cp.example.com)",
        load(null, null, Map.of("WARP_API_KEY", "wk", "OZ_WS_URL", "wss://cp.example.com/api/v1/selfhosted/worker/ws")));
    assertEndpoint("ws://127.0.0.1:8080/x", "http://127.0.0.1:8080",
        "endpoint: self-hosted control plane at ws://127.0.0.1:8080/x (configured; no server root URL set,"
            + " so http://127.0.0.1:8080)",
        load(null, null, Map.of("OZ_API_KEY", "k"), "--ws-url", "ws://127.0.0.1:8080/x"));
    assertEndpoint(HOSTED_WS, HOSTED_ROOT,
        "endpoint: hosted Oz at " + HOSTED_WS + " (configured; no server root URL set, so " + HOSTED_ROOT + ")",
        load(null, null, Map.of("OZ_API_KEY", "k", "OZ_WS_URL", HOSTED_WS)));
  }

  @Test
  void aConfiguredServerRootBringsItsOwnWebSocketUrl() {
    assertEndpoint("wss://cp.example.com:8443/api/v1/selfhosted/worker/ws", "https://cp.example.com:8443",
        "endpoint: self-hosted control plane at wss://cp.example.com:8443/api/v1/selfhosted/worker/ws"
            + " (derived from the configured server root URL https://cp.example.com:8443)",
        load(null, null, Map.of("WARP_API_KEY", "wk"), "--server-root-url", "https://cp.example.com:8443"));
    assertEndpoint(HOSTED_WS, HOSTED_ROOT,
        "endpoint: hosted Oz at " + HOSTED_WS + " (derived from the configured server root URL " + HOSTED_ROOT + ")",
        load(null, null, Map.of("OZ_API_KEY", "k", "OZ_SERVER_ROOT_URL", HOSTED_ROOT)));
  }

  @Test
  void theWhyNeverContainsTheKey() {
    WorkerOptions o = load(null, null, Map.of("WARP_API_KEY", "wk-secret-123"));
    assertEquals(false, o.getEndpoint().why().contains("wk-secret-123"));
    assertEquals(false, o.toString().contains("wk-secret-123"));
  }
}
