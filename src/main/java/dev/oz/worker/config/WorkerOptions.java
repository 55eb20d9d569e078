package dev.oz.worker.config;

import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Every setting of the worker, in one place: named, defaulted and validated here. {@code conf/worker.json},
 * the Go worker's YAML file, environment variables and command-line flags all map onto this object (see
 * {@link WorkerConfigLoader}); an embedding application passes the same keys as a {@link JsonObject}.
 */
public class WorkerOptions {
  public static final String DEFAULT_WS_URL = "ws://localhost:8080/api/v1/selfhosted/worker/ws";
  public static final String DEFAULT_SERVER_ROOT_URL = "http://localhost:8080";
  public static final String DOCKER_BACKEND = "docker";
  /** Backends of the Go worker; only Docker is implemented here, the others get a specific error. */
  public static final Set<String> GO_BACKENDS = Set.of("docker", "direct", "kubernetes", "command");
  public static final Set<String> LOG_LEVELS = Set.of("trace", "debug", "info", "warn", "error");
  public static final Set<String> LOG_FORMATS = Set.of("text", "json");

  private String apiKey;
  private String workerId;
  private String wsUrl = DEFAULT_WS_URL;
  private String serverRootUrl = DEFAULT_SERVER_ROOT_URL;
  private String backend = DOCKER_BACKEND;
  private String logLevel = "info";
  private String logFormat = "text";
  private boolean cleanup = true;
  private int maxConcurrentTasks;
  private String idleOnComplete;
  private String sessionSharingServerUrl;
  private Duration shutdownGracePeriod = Duration.ZERO;
  private DockerOptions docker = new DockerOptions();
  private LogStreamOptions logs = new LogStreamOptions();
  private MetricsOptions metrics = new MetricsOptions();
  private TelemetryOptions telemetry = new TelemetryOptions();
  private ConnectionOptions connection = new ConnectionOptions();

  public WorkerOptions() {
  }

  public WorkerOptions(WorkerOptions other) {
    apiKey = other.apiKey;
    workerId = other.workerId;
    wsUrl = other.wsUrl;
    serverRootUrl = other.serverRootUrl;
    backend = other.backend;
    logLevel = other.logLevel;
    logFormat = other.logFormat;
    cleanup = other.cleanup;
    maxConcurrentTasks = other.maxConcurrentTasks;
    idleOnComplete = other.idleOnComplete;
    sessionSharingServerUrl = other.sessionSharingServerUrl;
    shutdownGracePeriod = other.shutdownGracePeriod;
    docker = new DockerOptions(other.docker);
    logs = new LogStreamOptions(other.logs);
    metrics = new MetricsOptions(other.metrics);
    telemetry = new TelemetryOptions(other.telemetry);
    connection = new ConnectionOptions(other.connection);
  }

  /** Reads the JSON form (the keys of {@code conf/worker.json}); unknown keys are errors. Does not validate. */
  public static WorkerOptions fromJson(JsonObject json) {
    return fromJson(json, System.getenv());
  }

  /** As {@link #fromJson(JsonObject)}, resolving bare environment entries against {@code hostEnv}. */
  public static WorkerOptions fromJson(JsonObject json, Map<String, String> hostEnv) {
    ConfigReader r = new ConfigReader(json, "");
    WorkerOptions o = new WorkerOptions();
    r.string("api_key", o::setApiKey);
    r.string("worker_id", o::setWorkerId);
    r.string("ws_url", o::setWsUrl);
    r.string("server_root_url", o::setServerRootUrl);
    r.string("backend", o::setBackend);
    r.string("log_level", o::setLogLevel);
    r.string("log_format", o::setLogFormat);
    r.bool("cleanup", o::setCleanup);
    r.intValue("max_concurrent_tasks", o::setMaxConcurrentTasks);
    r.string("idle_on_complete", o::setIdleOnComplete);
    r.string("session_sharing_server_url", o::setSessionSharingServerUrl);
    r.duration("shutdown_grace_period", o::setShutdownGracePeriod);
    o.docker = DockerOptions.read(r.object("docker"), hostEnv);
    o.logs = LogStreamOptions.read(r.object("logs"));
    o.metrics = MetricsOptions.read(r.object("metrics"));
    o.telemetry = TelemetryOptions.read(r.object("telemetry"));
    o.connection = ConnectionOptions.read(r.object("connection"));
    r.rejectUnknownKeys();
    return o;
  }

  public JsonObject toJson() {
    JsonObject json = new JsonObject();
    putIfSet(json, "api_key", apiKey);
    putIfSet(json, "worker_id", workerId);
    json.put("ws_url", wsUrl)
        .put("server_root_url", serverRootUrl)
        .put("backend", backend)
        .put("log_level", logLevel)
        .put("log_format", logFormat)
        .put("cleanup", cleanup)
        .put("max_concurrent_tasks", maxConcurrentTasks);
    putIfSet(json, "idle_on_complete", idleOnComplete);
    putIfSet(json, "session_sharing_server_url", sessionSharingServerUrl);
    json.put("shutdown_grace_period", Durations.format(shutdownGracePeriod))
        .put("docker", docker.toJson())
        .put("logs", logs.toJson())
        .put("metrics", metrics.toJson())
        .put("telemetry", telemetry.toJson())
        .put("connection", connection.toJson());
    return json;
  }

  /**
   * Checks everything that can be checked before connecting; the first problem is thrown with a message
   * that names the setting.
   */
  public WorkerOptions validate() {
    if (apiKey == null || apiKey.isBlank()) {
      throw new ConfigException("missing API key: pass --api-key or set OZ_API_KEY (or WARP_API_KEY)");
    }
    if (workerId == null || workerId.isBlank()) {
      throw new ConfigException("worker-id is required (via --worker-id flag or config file)");
    }
    if (workerId.startsWith("warp")) {
      throw new ConfigException("invalid worker-id: values starting with 'warp' are reserved and cannot be used");
    }
    if (EnvEntry.hasWhitespace(workerId)) {
      throw new ConfigException("invalid worker-id \"" + workerId + "\": must not contain whitespace");
    }
    checkUrl("ws_url (--ws-url / OZ_WS_URL)", wsUrl, Set.of("ws", "wss"));
    checkUrl("server_root_url (--server-root-url / OZ_SERVER_ROOT_URL)", serverRootUrl, Set.of("http", "https"));
    if (sessionSharingServerUrl != null && !sessionSharingServerUrl.isBlank()) {
      checkUrl("session_sharing_server_url", sessionSharingServerUrl, Set.of("ws", "wss", "http", "https"));
    }
    if (!GO_BACKENDS.contains(backend)) {
      throw new ConfigException("unknown backend \"" + backend + "\" (valid: docker, direct, kubernetes, command)");
    }
    if (!DOCKER_BACKEND.equals(backend)) {
      throw new ConfigException("backend \"" + backend + "\" is not supported by this worker yet; use --backend docker");
    }
    if (!LOG_LEVELS.contains(logLevel)) {
      throw new ConfigException("invalid log level \"" + logLevel + "\" (valid: debug, info, warn, error)");
    }
    if (!LOG_FORMATS.contains(logFormat)) {
      throw new ConfigException("invalid log format \"" + logFormat + "\" (valid: text, json)");
    }
    if (maxConcurrentTasks < 0) {
      throw new ConfigException("max_concurrent_tasks must not be negative (0 means unlimited), got " + maxConcurrentTasks);
    }
    if (idleOnComplete != null && !idleOnComplete.isEmpty()) {
      Durations.parse("idle_on_complete", idleOnComplete);
    }
    if (shutdownGracePeriod.isNegative()) {
      throw new ConfigException("shutdown_grace_period must not be negative");
    }
    docker.validate();
    logs.validate();
    metrics.validate();
    telemetry.validate();
    connection.validate();
    return this;
  }

  private static void checkUrl(String setting, String value, Set<String> schemes) {
    if (value == null || value.isBlank()) {
      throw new ConfigException(setting + " must not be empty");
    }
    URI uri;
    try {
      uri = new URI(value);
    } catch (URISyntaxException e) {
      throw new ConfigException(setting + ": invalid URL \"" + value + "\": " + e.getReason());
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!schemes.contains(scheme)) {
      throw new ConfigException(setting + ": unsupported URL scheme in \"" + value + "\" (expected "
          + String.join(" or ", schemes.stream().sorted().map(s -> s + "://").toList()) + ")");
    }
    if (uri.getHost() == null || uri.getHost().isEmpty()) {
      throw new ConfigException(setting + ": URL \"" + value + "\" has no host");
    }
  }

  private static void putIfSet(JsonObject json, String key, String value) {
    if (value != null) {
      json.put(key, value);
    }
  }

  /** Never prints the API key, environment values, the status token or OTLP headers (they carry credentials). */
  @Override
  public String toString() {
    JsonObject json = toJson();
    if (json.containsKey("api_key")) {
      json.put("api_key", "<redacted>");
    }
    if (json.getJsonObject("metrics").containsKey("status_token")) {
      json.getJsonObject("metrics").put("status_token", "<redacted>");
    }
    JsonObject otel = json.getJsonObject("telemetry");
    for (String name : otel.fieldNames()) {
      if (name.contains("HEADERS")) {
        otel.put(name, "<redacted>");
      }
    }
    json.getJsonObject("docker").put("environment",
        docker.getEnvironment().stream().map(e -> e.name() + "=<redacted>").toList());
    return json.encode();
  }

  public String getApiKey() {
    return apiKey;
  }

  public WorkerOptions setApiKey(String apiKey) {
    this.apiKey = apiKey;
    return this;
  }

  public String getWorkerId() {
    return workerId;
  }

  public WorkerOptions setWorkerId(String workerId) {
    this.workerId = workerId;
    return this;
  }

  public String getWsUrl() {
    return wsUrl;
  }

  public WorkerOptions setWsUrl(String wsUrl) {
    this.wsUrl = wsUrl;
    return this;
  }

  public String getServerRootUrl() {
    return serverRootUrl;
  }

  public WorkerOptions setServerRootUrl(String serverRootUrl) {
    this.serverRootUrl = serverRootUrl;
    return this;
  }

  public String getBackend() {
    return backend;
  }

  public WorkerOptions setBackend(String backend) {
    this.backend = backend;
    return this;
  }

  public String getLogLevel() {
    return logLevel;
  }

  public WorkerOptions setLogLevel(String logLevel) {
    this.logLevel = logLevel == null ? null : logLevel.toLowerCase(Locale.ROOT);
    return this;
  }

  public String getLogFormat() {
    return logFormat;
  }

  public WorkerOptions setLogFormat(String logFormat) {
    this.logFormat = logFormat == null ? null : logFormat.toLowerCase(Locale.ROOT);
    return this;
  }

  public boolean isCleanup() {
    return cleanup;
  }

  public WorkerOptions setCleanup(boolean cleanup) {
    this.cleanup = cleanup;
    return this;
  }

  public int getMaxConcurrentTasks() {
    return maxConcurrentTasks;
  }

  public WorkerOptions setMaxConcurrentTasks(int maxConcurrentTasks) {
    this.maxConcurrentTasks = maxConcurrentTasks;
    return this;
  }

  public String getIdleOnComplete() {
    return idleOnComplete;
  }

  public WorkerOptions setIdleOnComplete(String idleOnComplete) {
    this.idleOnComplete = idleOnComplete;
    return this;
  }

  public String getSessionSharingServerUrl() {
    return sessionSharingServerUrl;
  }

  public WorkerOptions setSessionSharingServerUrl(String sessionSharingServerUrl) {
    this.sessionSharingServerUrl = sessionSharingServerUrl;
    return this;
  }

  public Duration getShutdownGracePeriod() {
    return shutdownGracePeriod;
  }

  public WorkerOptions setShutdownGracePeriod(Duration shutdownGracePeriod) {
    this.shutdownGracePeriod = shutdownGracePeriod;
    return this;
  }

  public DockerOptions getDocker() {
    return docker;
  }

  public WorkerOptions setDocker(DockerOptions docker) {
    this.docker = docker;
    return this;
  }

  public LogStreamOptions getLogs() {
    return logs;
  }

  public WorkerOptions setLogs(LogStreamOptions logs) {
    this.logs = logs;
    return this;
  }

  public MetricsOptions getMetrics() {
    return metrics;
  }

  public WorkerOptions setMetrics(MetricsOptions metrics) {
    this.metrics = metrics;
    return this;
  }

  public TelemetryOptions getTelemetry() {
    return telemetry;
  }

  public WorkerOptions setTelemetry(TelemetryOptions telemetry) {
    this.telemetry = telemetry;
    return this;
  }

  public ConnectionOptions getConnection() {
    return connection;
  }

  public WorkerOptions setConnection(ConnectionOptions connection) {
    this.connection = connection;
    return this;
  }
}
