package dev.oz.worker.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * Where the worker connects and which server root it gives agents. The two belong together: when neither is
 * configured, the key's source picks hosted Oz or a self-hosted control plane; when one is configured, the other is
 * derived from it. A worker therefore never dials hosted Oz while handing agents a local server root, or the reverse.
 *
 * @param wsUrl control-plane WebSocket URL
 * @param serverRootUrl server root URL given to agents
 * @param hosted whether this is hosted Oz (extensions it was not built for, such as {@code task_log}, stay off)
 * @param why one line for the start-up log: the choice and its reason, never the key
 */
public record Endpoint(String wsUrl, String serverRootUrl, boolean hosted, String why) {
  public static final String HOSTED_WS_URL = "wss://oz.warp.dev/api/v1/selfhosted/worker/ws";
  public static final String HOSTED_SERVER_ROOT_URL = "https://app.warp.dev";
  public static final String SELF_HOSTED_WS_URL = "ws://localhost:8080/api/v1/selfhosted/worker/ws";
  public static final String SELF_HOSTED_SERVER_ROOT_URL = "http://localhost:8080";
  static final String WS_PATH = "/api/v1/selfhosted/worker/ws";

  /** Where the API key came from; only {@code OZ_API_KEY} (the self-hosted variant's name) means self-hosted. */
  public enum KeySource {
    FLAG("--api-key", true),
    OZ_API_KEY("OZ_API_KEY", false),
    WARP_API_KEY("WARP_API_KEY", true),
    CONFIG("api_key in the configuration", true);

    private final String label;
    private final boolean hosted;

    KeySource(String label, boolean hosted) {
      this.label = label;
      this.hosted = hosted;
    }

    public String label() {
      return label;
    }
  }

  /**
   * @param wsUrl the configured WebSocket URL (flag, env, {@code -conf} or YAML), or null
   * @param serverRootUrl the configured server root URL, or null
   * @param keySource where the key came from (null: from the configuration)
   */
  public static Endpoint resolve(String wsUrl, String serverRootUrl, KeySource keySource) {
    KeySource source = keySource == null ? KeySource.CONFIG : keySource;
    boolean wsSet = wsUrl != null && !wsUrl.isBlank();
    boolean rootSet = serverRootUrl != null && !serverRootUrl.isBlank();
    if (wsSet && rootSet) {
      return new Endpoint(wsUrl, serverRootUrl, isHosted(wsUrl), "endpoint: " + describe(wsUrl) + " (configured)");
    }
    if (wsSet) {
      String root = isHosted(wsUrl) ? HOSTED_SERVER_ROOT_URL : rootFromWsUrl(wsUrl);
      return new Endpoint(wsUrl, root, isHosted(wsUrl),
          "endpoint: " + describe(wsUrl) + " (configured; no server root URL set, so " + root + ")");
    }
    if (rootSet) {
      String ws = isHosted(serverRootUrl) ? HOSTED_WS_URL : wsUrlFromRoot(serverRootUrl);
      return new Endpoint(ws, serverRootUrl, isHosted(ws),
          "endpoint: " + describe(ws) + " (derived from the configured server root URL " + serverRootUrl + ")");
    }
    if (source.hosted) {
      return new Endpoint(HOSTED_WS_URL, HOSTED_SERVER_ROOT_URL, true,
          "endpoint: hosted Oz (" + source.label() + ", no OZ_WS_URL)");
    }
    return new Endpoint(SELF_HOSTED_WS_URL, SELF_HOSTED_SERVER_ROOT_URL, false,
        "endpoint: self-hosted control plane at " + SELF_HOSTED_WS_URL + " (" + source.label() + ", no OZ_WS_URL)");
  }

  private static String describe(String wsUrl) {
    return (isHosted(wsUrl) ? "hosted Oz at " : "self-hosted control plane at ") + wsUrl;
  }

  /** Hosted Oz is anything under warp.dev ({@code oz.warp.dev}, {@code app.warp.dev}). */
  static boolean isHosted(String url) {
    String host = host(url);
    return host != null && (host.equals("warp.dev") || host.endsWith(".warp.dev"));
  }

  /** {@code ws://cp:8080/api/...} gives {@code http://cp:8080}; a URL that does not parse is left to validation. */
  static String rootFromWsUrl(String wsUrl) {
    try {
      URI u = new URI(wsUrl);
      String scheme = "wss".equalsIgnoreCase(u.getScheme()) ? "https" : "http";
      return new URI(scheme, null, u.getHost(), u.getPort(), null, null, null).toString();
    } catch (URISyntaxException | RuntimeException e) {
      return SELF_HOSTED_SERVER_ROOT_URL;
    }
  }

  /** {@code https://cp.example} gives {@code wss://cp.example/api/v1/selfhosted/worker/ws}. */
  static String wsUrlFromRoot(String root) {
    try {
      URI u = new URI(root);
      String scheme = "https".equalsIgnoreCase(u.getScheme()) ? "wss" : "ws";
      return new URI(scheme, null, u.getHost(), u.getPort(), WS_PATH, null, null).toString();
    } catch (URISyntaxException | RuntimeException e) {
      return SELF_HOSTED_WS_URL;
    }
  }

  private static String host(String url) {
    try {
      String h = new URI(url).getHost();
      return h == null ? null : h.toLowerCase(Locale.ROOT);
    } catch (URISyntaxException e) {
      return null;
    }
  }
}
