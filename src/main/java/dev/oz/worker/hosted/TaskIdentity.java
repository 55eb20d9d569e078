package dev.oz.worker.hosted;

import java.net.URI;
import java.util.Map;

/**
 * Who a task is towards hosted Oz's HTTP side: the credentials the assignment brings ({@code WARP_API_KEY},
 * {@code WARP_WORKLOAD_TOKEN} in its {@code env_vars}) and where the server is. Never printed with its values.
 *
 * @param serverRootUrl the worker's server root URL, or null
 */
public record TaskIdentity(String taskId, String executionId, String serverRootUrl, String apiKey, String workloadToken) {
  public static final String API_KEY_VAR = "WARP_API_KEY";
  public static final String WORKLOAD_TOKEN_VAR = "WARP_WORKLOAD_TOKEN";

  /** From an assignment's {@code env_vars}. */
  public static TaskIdentity of(String taskId, String executionId, String serverRootUrl, Map<String, String> envVars) {
    return new TaskIdentity(taskId, executionId == null ? "" : executionId, serverRootUrl, envVars.get(API_KEY_VAR),
        envVars.get(WORKLOAD_TOKEN_VAR));
  }

  /** The three headers every request for this task carries (the workload token only when there is one). */
  Map<String, String> headers(String bearer) {
    return workloadToken == null || workloadToken.isEmpty()
        ? Map.of("Authorization", "Bearer " + bearer, "X-Warp-Cloud-Agent-ID", taskId)
        : Map.of("Authorization", "Bearer " + bearer, "X-Warp-Cloud-Agent-ID", taskId,
            "X-Warp-Ambient-Workload-Token", workloadToken);
  }

  /** The server root without a trailing slash. */
  String root() {
    return serverRootUrl.replaceAll("/+$", "");
  }

  /** Why setup events cannot be posted, or null when they can (the Go worker needs the root URL and the key). */
  public String setupEventsProblem() {
    if (serverRootUrl == null || serverRootUrl.isBlank()) {
      return "no server root URL";
    }
    if (apiKey == null || apiKey.isEmpty()) {
      return "the assignment has no " + API_KEY_VAR;
    }
    return null;
  }

  /** Why task logs cannot be shipped to {@code endpoint}, or null when they can. */
  public String taskLogsProblem(String endpoint) {
    if (!isPlainHttpUrl(endpoint)) {
      return "invalid task log collector endpoint";
    }
    if (!isPlainHttpUrl(serverRootUrl)) {
      return "invalid task identity endpoint (server root URL)";
    }
    if (apiKey == null || apiKey.isEmpty() || workloadToken == null || workloadToken.isEmpty()) {
      return "task log reporting requires the task's " + API_KEY_VAR + " and " + WORKLOAD_TOKEN_VAR;
    }
    return null;
  }

  /** An absolute http(s) URL with a host and no user info, query or fragment. */
  static boolean isPlainHttpUrl(String url) {
    if (url == null || url.isBlank()) {
      return false;
    }
    try {
      URI u = new URI(url);
      return ("http".equals(u.getScheme()) || "https".equals(u.getScheme())) && u.getHost() != null
          && u.getRawUserInfo() == null && u.getRawQuery() == null && u.getRawFragment() == null;
    } catch (java.net.URISyntaxException e) {
      return false;
    }
  }

  @Override
  public String toString() {
    return "TaskIdentity[taskId=" + taskId + ", executionId=" + executionId + ", serverRootUrl=" + serverRootUrl
        + ", apiKey=" + (apiKey == null ? "none" : "[REDACTED]") + ", workloadToken="
        + (workloadToken == null ? "none" : "[REDACTED]") + "]";
  }
}
