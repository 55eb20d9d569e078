package dev.oz.worker.controlplane;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** The control-plane URL with {@code worker_id} set in its query, keeping any other query parameters. */
final class ConnectionUrl {
  private ConnectionUrl() {
  }

  static String withWorkerId(String wsUrl, String workerId) {
    String base = wsUrl;
    String fragment = "";
    int hash = base.indexOf('#');
    if (hash >= 0) {
      fragment = base.substring(hash);
      base = base.substring(0, hash);
    }
    String query = "";
    int q = base.indexOf('?');
    if (q >= 0) {
      query = base.substring(q + 1);
      base = base.substring(0, q);
    }
    List<String> params = new ArrayList<>();
    for (String p : query.split("&")) {
      if (!p.isEmpty() && !p.equals("worker_id") && !p.startsWith("worker_id=")) {
        params.add(p);
      }
    }
    params.add("worker_id=" + URLEncoder.encode(workerId, StandardCharsets.UTF_8));
    if (base.matches("^wss?://[^/]+$")) {
      base = base + "/";
    }
    return base + "?" + String.join("&", params) + fragment;
  }
}
