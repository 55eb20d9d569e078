package dev.oz.worker.config;

import com.fasterxml.jackson.annotation.JsonAnyGetter;
import com.fasterxml.jackson.annotation.JsonAnySetter;
import com.fasterxml.jackson.annotation.JsonIgnore;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import io.vertx.core.json.JsonArray;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.TreeMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Every setting of the worker, in one place: named, defaulted and validated here. {@code conf/worker.json},
 * the Go worker's YAML file, environment variables and command-line flags all map onto this object (see
 * {@link WorkerConfigLoader}); an embedding application passes the same keys as a {@link JsonObject}.
 */
public class WorkerOptions {
  public static final String DEFAULT_BACKEND = "docker";
  public static final Set<String> LOG_LEVELS = Set.of("trace", "debug", "info", "warn", "error");
  public static final Set<String> LOG_FORMATS = Set.of("text", "json");

  private String apiKey;
  private String workerId;
  /** Null until configured: the default depends on the key's source and on the other URL (see {@link Endpoint}). */
  private String wsUrl;
  private String serverRootUrl;
  private transient Endpoint.KeySource apiKeySource;
  private transient Endpoint endpoint;
  /** Things that work but look wrong; logged once at start (a set: validation may run more than once). */
  private final transient Set<String> warnings = new LinkedHashSet<>();
  private String backend = DEFAULT_BACKEND;
  private String logLevel = "info";
  private String logFormat = "text";
  private boolean cleanup = true;
  private boolean oneShot;
  /** {@code collect_task_logs}: ship task output to the collector an assignment names (when it asks). */
  private boolean collectTaskLogs = true;
  private int maxConcurrentTasks;
  private String idleOnComplete;
  private String sessionSharingServerUrl;
  private Duration shutdownGracePeriod = Duration.ZERO;
  private Duration taskTimeout = Duration.ZERO;
  /** {@code -e}: added to every backend's task environment, after the backend's own (a later entry wins). */
  private List<EnvEntry> environment = new ArrayList<>();
  /** Each backend's settings block by backend name, unread: the backend parses its own (see BackendSettings). */
  private final transient Map<String, JsonObject> backendBlocks = new TreeMap<>();
  /** The process environment, for backends (bare environment entries, engine discovery); injectable for tests. */
  private transient Map<String, String> hostEnv = System.getenv();
  private LogStreamOptions logs = new LogStreamOptions();
  private MetricsOptions metrics = new MetricsOptions();
  private TelemetryOptions telemetry = new TelemetryOptions();
  private ConnectionOptions connection = new ConnectionOptions();

  public WorkerOptions() {
  }

  /** A deep copy: the settings, plus what validation and the sources set beside them. */
  public WorkerOptions(WorkerOptions other) {
    OptionsCopy.copyFields(WorkerOptions.class, other, this);
  }

  /** Reads the JSON form (the keys of {@code conf/worker.json}); unknown keys are errors. Does not validate. */
  public static WorkerOptions fromJson(JsonObject json) {
    return fromJson(json, System.getenv());
  }

  /** As {@link #fromJson(JsonObject)}, resolving bare environment entries against {@code hostEnv}. */
  public static WorkerOptions fromJson(JsonObject json, Map<String, String> hostEnv) {
    // no keys (settings from flags and environment only, the usual case): the defaults, without building the binder
    WorkerOptions o = json == null || json.isEmpty() ? new WorkerOptions()
        : ConfigJson.read(json, WorkerOptions.class, "", hostEnv);
    o.hostEnv = hostEnv;
    return o;
  }

  /** Any other object is a backend's block; whether a backend of that name exists is checked by validation. */
  @JsonAnySetter
  private void backendBlockSetting(String name, Object block) {
    if (!(block instanceof Map<?, ?> map)) {
      throw new ConfigException("unknown setting: " + name);
    }
    backendBlocks.put(name, new JsonObject(new java.util.LinkedHashMap<>((Map<String, Object>) map)));
  }

  @JsonAnyGetter
  private Map<String, JsonObject> backendBlockSettings() {
    return backendBlocks;
  }

  public JsonObject toJson() {
    return ConfigJson.toJson(this);
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
    if (wsUrl != null) {
      checkUrl("ws_url (--ws-url / OZ_WS_URL)", wsUrl, Set.of("ws", "wss"));
    }
    if (serverRootUrl != null) {
      checkUrl("server_root_url (--server-root-url / OZ_SERVER_ROOT_URL)", serverRootUrl, Set.of("http", "https"));
    }
    // the configured values stay as they are, so validating a copy again resolves the same way
    endpoint = Endpoint.resolve(wsUrl, serverRootUrl, apiKeySource);
    logs.resolveStream(endpoint.hosted());
    if (sessionSharingServerUrl != null && !sessionSharingServerUrl.isBlank()) {
      checkUrl("session_sharing_server_url", sessionSharingServerUrl, Set.of("ws", "wss", "http", "https"));
    }
    if (backend == null || backend.isBlank()) {
      throw new ConfigException("backend must not be empty");
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
    if (idleOnComplete != null && !idleOnComplete.isBlank() && !Durations.isDuration(idleOnComplete.trim())) {
      // the Go worker hands the string to the agent unchanged; so do we, but say it looks wrong
      warn("idle_on_complete \"" + idleOnComplete + "\" does not look like a duration (e.g. 45m, 10m, 0s);"
          + " it is passed to the agent unchanged");
    }
    if (shutdownGracePeriod.isNegative()) {
      throw new ConfigException("shutdown_grace_period must not be negative");
    }
    if (taskTimeout.isNegative()) {
      throw new ConfigException("task_timeout must not be negative (0s: no limit)");
    }
    logs.validate();
    metrics.validate();
    telemetry.validate();
    connection.validate();
    return this;
  }

  /**
   * {@link #validate()}, then the backend: {@code backend} must name one of {@code backends}, and each backend's block
   * must parse (a block that names no backend is an unknown setting).
   */
  public WorkerOptions validate(Map<String, ? extends BackendSettings> backends) {
    for (String name : backendBlocks.keySet()) {
      if (!backends.containsKey(name)) {
        throw new ConfigException("unknown setting \"" + name + "\" (not a setting, and no backend has that name;"
            + " backends: " + String.join(", ", new java.util.TreeSet<>(backends.keySet())) + ")");
      }
    }
    backendBlocks.forEach((name, block) -> backends.get(name).options(block, hostEnv));
    validate();
    if (!backendBlocks.containsKey(backend)) {
      BackendSettings.select(backends, backend).options(new JsonObject(), hostEnv);
    }
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

  /** Never prints the API key, environment values, the status token or OTLP headers (they carry credentials). */
  @Override
  public String toString() {
    JsonObject json = toJson();
    if (json.containsKey("api_key")) {
      json.put("api_key", "<redacted>");
    }
    // by convention, values under any "environment" list are secrets, the backends' blocks included
    redactEnvironment(json);
    backendBlocks.keySet().forEach(name -> redactEnvironment(json.getJsonObject(name)));
    if (json.getJsonObject("metrics").containsKey("status_token")) {
      json.getJsonObject("metrics").put("status_token", "<redacted>");
    }
    JsonObject otel = json.getJsonObject("telemetry");
    for (String name : otel.fieldNames()) {
      if (name.contains("HEADERS")) {
        otel.put(name, "<redacted>");
      }
    }
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

  /** Records a setting that works but looks wrong; the worker logs it at start. */
  public WorkerOptions warn(String warning) {
    warnings.add(warning);
    return this;
  }

  public List<String> getWarnings() {
    return List.copyOf(warnings);
  }

  /** Where the API key came from, which picks the default endpoint (see {@link Endpoint}); null: the configuration. */
  public Endpoint.KeySource getApiKeySource() {
    return apiKeySource;
  }

  @JsonIgnore // not a setting: where the key came from
  public WorkerOptions setApiKeySource(Endpoint.KeySource apiKeySource) {
    this.apiKeySource = apiKeySource;
    this.endpoint = null;
    return this;
  }

  /** The resolved endpoint; null before {@link #validate()}. */
  public Endpoint getEndpoint() {
    return endpoint;
  }

  /** The URL to dial: as configured, or as resolved by {@link #validate()}; null before either. */
  public String getWsUrl() {
    return endpoint != null ? endpoint.wsUrl() : wsUrl;
  }

  public WorkerOptions setWsUrl(String wsUrl) {
    this.wsUrl = wsUrl;
    this.endpoint = null;
    return this;
  }

  /** The server root given to agents: as configured, or as resolved by {@link #validate()}. */
  public String getServerRootUrl() {
    return endpoint != null ? endpoint.serverRootUrl() : serverRootUrl;
  }

  public WorkerOptions setServerRootUrl(String serverRootUrl) {
    this.serverRootUrl = serverRootUrl;
    this.endpoint = null;
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

  /** How long a task may run before it is stopped and reported as timed out; zero: no limit. */
  public Duration getTaskTimeout() {
    return taskTimeout;
  }

  public WorkerOptions setTaskTimeout(Duration taskTimeout) {
    this.taskTimeout = taskTimeout;
    return this;
  }

  /** Run one task, then exit (the Go worker's {@code --one-shot}); forces a concurrency of 1. */
  /** Whether task output may be shipped to the OTLP collector an assignment names (default true). */
  public boolean isCollectTaskLogs() {
    return collectTaskLogs;
  }

  public WorkerOptions setCollectTaskLogs(boolean collectTaskLogs) {
    this.collectTaskLogs = collectTaskLogs;
    return this;
  }

  public boolean isOneShot() {
    return oneShot;
  }

  public WorkerOptions setOneShot(boolean oneShot) {
    this.oneShot = oneShot;
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

  private static void redactEnvironment(JsonObject json) {
    if (json.getValue("environment") instanceof JsonArray list) {
      json.put("environment", new JsonArray(list.stream()
          .map(e -> e instanceof JsonObject entry ? entry.getString("name") + "=<redacted>" : "<redacted>").toList()));
    }
  }

  /** {@code -e} entries: every backend adds them after its own environment. */
  public List<EnvEntry> getEnvironment() {
    return List.copyOf(environment);
  }

  /** Adds (or replaces, moving it last) a variable of every task's environment. */
  public WorkerOptions putEnv(EnvEntry entry) {
    environment.removeIf(e -> e.name().equals(entry.name()));
    environment.add(entry);
    return this;
  }

  /** The named backend's settings block as configured so far (a live view: flags edit it); empty when none. */
  public JsonObject backendBlock(String name) {
    return backendBlocks.computeIfAbsent(name, n -> new JsonObject());
  }

  /** A copy of the named backend's settings block; empty when none was given. */
  public JsonObject getBackendBlock(String name) {
    JsonObject block = backendBlocks.get(name);
    return block == null ? new JsonObject() : block.copy();
  }

  public WorkerOptions setBackendBlock(String name, JsonObject block) {
    backendBlocks.put(name, block.copy());
    return this;
  }

  /** Names of every backend that has a settings block. */
  public Set<String> backendBlockNames() {
    return Set.copyOf(backendBlocks.keySet());
  }

  public Map<String, String> getHostEnv() {
    return hostEnv;
  }

  @JsonIgnore // not a setting: the process environment
  public WorkerOptions setHostEnv(Map<String, String> hostEnv) {
    this.hostEnv = Map.copyOf(hostEnv);
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
