package dev.oz.worker.config;

import io.vertx.core.json.JsonObject;

/**
 * The operations HTTP server: Prometheus metrics and health probes ({@code metrics} in the config). It binds
 * where the Go worker's Prometheus exporter binds by default, {@code localhost:9464}; the environment variables
 * {@code OTEL_EXPORTER_PROMETHEUS_HOST}/{@code _PORT} map onto {@code host}/{@code port}.
 */
public class MetricsOptions {
  public static final int DEFAULT_PORT = 9464;
  public static final String DEFAULT_HOST = "localhost";

  private boolean enabled = true;
  private String host = DEFAULT_HOST;
  private int port = DEFAULT_PORT;
  private String statusToken;

  void validate() {
    if (port < 0 || port > 65535) {
      throw new ConfigException("metrics.port must be between 0 and 65535, got " + port);
    }
    if (host == null || host.isBlank()) {
      throw new ConfigException("metrics.host must not be empty");
    }
    if (statusToken != null && statusToken.isBlank()) {
      throw new ConfigException("metrics.status_token must not be blank (leave it unset for an open /status)");
    }
  }

  public JsonObject toJson() {
    return ConfigJson.toJson(this);
  }

  public boolean isEnabled() {
    return enabled;
  }

  public MetricsOptions setEnabled(boolean enabled) {
    this.enabled = enabled;
    return this;
  }

  public String getHost() {
    return host;
  }

  public MetricsOptions setHost(String host) {
    this.host = host;
    return this;
  }

  /** 0 picks a free port (useful when several workers share a host or a Vert.x instance). */
  public int getPort() {
    return port;
  }

  public MetricsOptions setPort(int port) {
    this.port = port;
    return this;
  }

  /** When set, {@code /status} answers only requests with {@code Authorization: Bearer <token>}. */
  public String getStatusToken() {
    return statusToken;
  }

  public MetricsOptions setStatusToken(String statusToken) {
    this.statusToken = statusToken;
    return this;
  }
}
