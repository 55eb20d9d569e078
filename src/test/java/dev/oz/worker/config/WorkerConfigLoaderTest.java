package dev.oz.worker.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.cli.CommandLineAccess;
import dev.oz.worker.docker.DockerOptions;
import dev.oz.worker.docker.PullPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every config source, their precedence, and the messages bad values get. */
class WorkerConfigLoaderTest {
  private static final Map<String, String> NO_ENV = Map.of();

  @TempDir
  Path dir;

  private WorkerOptions load(String conf, Path yaml, Map<String, String> env, String... flags) {
    return CommandLineAccess.load(List.of(flags), conf, yaml, env);
  }

  /** The Docker backend's settings as it will read them. */
  private static DockerOptions docker(WorkerOptions o) {
    return DockerOptions.fromJson(o.getBackendBlock("docker"), o.getHostEnv());
  }

  private Path file(String name, String content) throws Exception {
    Path p = dir.resolve(name);
    Files.writeString(p, content);
    return p;
  }

  @Test
  void defaults() {
    WorkerOptions o = load(null, null, NO_ENV, "--api-key", "k", "--worker-id", "w");
    assertEquals("wss://oz.warp.dev/api/v1/selfhosted/worker/ws", o.getWsUrl(), "--api-key: hosted Oz, as the Go worker");
    assertEquals("https://app.warp.dev", o.getServerRootUrl());
    assertEquals("docker", o.getBackend());
    assertTrue(o.isCleanup());
    assertEquals(0, o.getMaxConcurrentTasks());
    assertEquals(List.of(PullPolicy.ALWAYS, PullPolicy.IF_NOT_PRESENT), docker(o).getPullPolicy());
    assertEquals(Duration.ofSeconds(10), docker(o).getCancelGracePeriod());
    assertEquals(Duration.ZERO, o.getShutdownGracePeriod());
    assertEquals(64 * 1024, o.getLogs().getChunkBytes());
    assertEquals(Duration.ofMillis(250), o.getLogs().getFlushInterval());
    assertEquals(64L << 20, o.getLogs().getMaxBytesPerTask());
    assertFalse(o.getLogs().isStream(), "task_log is off towards hosted Oz unless set to true");
    assertEquals(9464, o.getMetrics().getPort());
  }

  @Test
  void precedenceDefaultsConfYamlEnvFlags() throws Exception {
    Path conf = file("worker.json", """
        {"api_key": "from-conf", "worker_id": "conf-id", "max_concurrent_tasks": 2, "idle_on_complete": "5m",
         "ws_url": "ws://conf:1/ws", "docker": {"volumes": ["/a:/a"]}}""");
    Path yaml = file("worker.yaml", """
        worker_id: yaml-id
        max_concurrent_tasks: 3
        backend:
          docker:
            volumes: ["/y:/y"]
            environment:
              - name: FROM_YAML
                value: "1"
        """);
    WorkerOptions o = load(conf.toString(), yaml, Map.of("OZ_API_KEY", "from-env", "OZ_WS_URL", "wss://env:2/ws"),
        "--max-concurrent-tasks", "4", "-v", "/f:/f", "-e", "FROM_FLAG=2");
    assertEquals("from-env", o.getApiKey(), "env beats conf");
    assertEquals("yaml-id", o.getWorkerId(), "yaml beats conf");
    assertEquals(4, o.getMaxConcurrentTasks(), "flags beat everything");
    assertEquals("5m", o.getIdleOnComplete(), "conf value kept when nothing overrides it");
    assertEquals("wss://env:2/ws", o.getWsUrl());
    assertEquals(List.of("/y:/y", "/f:/f"), docker(o).getVolumes(), "-v adds to the configured volumes");
    assertEquals(List.of("FROM_YAML"), docker(o).getEnvironment().stream().map(EnvEntry::name).toList());
    assertEquals(List.of("FROM_FLAG"), o.getEnvironment().stream().map(EnvEntry::name).toList(),
        "-e is every backend's, added after the backend's own environment");
  }

  @Test
  void ozApiKeyWinsOverWarpApiKeyAndFlagWinsOverBoth() {
    assertEquals("oz", load(null, null, Map.of("OZ_API_KEY", "oz", "WARP_API_KEY", "warp"), "--worker-id", "w").getApiKey());
    assertEquals("warp", load(null, null, Map.of("WARP_API_KEY", "warp"), "--worker-id", "w").getApiKey());
    assertEquals("flag", load(null, null, Map.of("OZ_API_KEY", "oz"), "--worker-id", "w", "--api-key", "flag").getApiKey());
  }

  @Test
  void inlineJsonConf() {
    WorkerOptions o = load("{\"api_key\":\"k\",\"worker_id\":\"inline\",\"cleanup\":false}", null, NO_ENV);
    assertEquals("inline", o.getWorkerId());
    assertFalse(o.isCleanup());
  }

  @Test
  void envFlagParsing() {
    WorkerOptions o = load(null, null, Map.of("HOST_VAR", "from-host"), "--api-key", "k", "--worker-id", "w",
        "-e", "A=1", "-e", "B=x=y", "-e", "C=", "-e", "HOST_VAR", "-e", "UNSET_VAR", "--env=A=2");
    assertEquals(List.of("B=x=y", "C=", "HOST_VAR=from-host", "UNSET_VAR=", "A=2"),
        o.getEnvironment().stream().map(e -> e.name() + "=" + e.value()).toList());
  }

  @Test
  void badEnvFlags() {
    assertEquals("invalid --env flag: empty value", error(null, null, "-e", ""));
    assertEquals("invalid --env flag: missing key in \"=x\"", error(null, null, "-e", "=x"));
    assertEquals("invalid --env flag: key contains whitespace in \"A B\"", error(null, null, "-e", "A B=secret"));
  }

  @Test
  void validationMessages() {
    assertEquals("missing API key: pass --api-key or set OZ_API_KEY (or WARP_API_KEY)", invalid("--worker-id", "w", "--api-key", ""));
    assertEquals("worker-id is required (via --worker-id flag or config file)", error(null, null, "--api-key", "k"));
    assertEquals("invalid worker-id: values starting with 'warp' are reserved and cannot be used",
        invalid("--worker-id", "warp-1"));
    assertTrue(invalid("--worker-id", "w", "--ws-url", "http://x/ws").contains("unsupported URL scheme"));
    assertTrue(invalid("--worker-id", "w", "--server-root-url", "ftp://x").contains("unsupported URL scheme"));
    assertEquals("max_concurrent_tasks must not be negative (0 means unlimited), got -1",
        invalid("--worker-id", "w", "--max-concurrent-tasks", "-1"));
    assertEquals("unknown backend \"lambda\" (available: command, direct, docker, kubernetes, scripted)",
        invalid("--worker-id", "w", "--backend", "lambda"));
    assertTrue(invalid("--worker-id", "w", "--max-concurrent-tasks", "two").contains("expected a whole number"));
    assertTrue(invalid("--worker-id", "w", "--pull-policy", "sometimes").contains("unknown pull policy"));
    assertTrue(invalid("--worker-id", "w", "--bogus").contains("unknown flag --bogus"));
    assertTrue(invalid("--worker-id", "w", "-v", "/data").contains("invalid volume \"/data\""));
    assertTrue(invalid("--worker-id", "w", "-v", "/a:relative").contains("must be absolute"));
    assertTrue(invalid("--worker-id", "w", "-v", "/a:/b:rox").contains("unknown mode \"rox\""));
  }

  @Test
  void malformedJsonNamesFileAndLine() throws Exception {
    Path conf = file("bad.json", "{\n  \"worker_id\": \"w\",\n  \"cleanup\": tru\n}");
    String msg = error(conf.toString(), null);
    assertTrue(msg.startsWith(conf + ": line 3"), msg);
  }

  @Test
  void unknownAndMistypedJsonKeysAreErrors() {
    assertEquals("unknown setting: max_concurent_tasks", error("{\"max_concurent_tasks\": 1}", null));
    assertEquals("unknown setting in docker: volume", error("{\"docker\": {\"volume\": []}}", null));
    assertEquals("max_concurrent_tasks is out of range: 4294967297", error("{\"max_concurrent_tasks\": 4294967297}", null));
    assertTrue(error("{\"api_key\": \"k\", \"worker_id\": \"w\", \"docker\": {\"host\": \"localhost:2375\"}}", null)
        .startsWith("docker.host: unsupported address"));
    assertTrue(error("{\"api_key\": \"k\", \"worker_id\": \"w\", \"logs\": {\"chunk_bytes\": 99999999}}", null)
        .startsWith("logs.chunk_bytes must be between"));
    assertEquals("cleanup must be true or false, got \"no\"", error("{\"cleanup\": \"no\"}", null));
    assertTrue(error("{\"logs\": {\"flush_interval\": 250}}", null).startsWith("logs.flush_interval must be a duration"));
  }

  @Test
  void yamlUnknownKeyNamesLine() throws Exception {
    Path yaml = file("w.yaml", "worker_id: w\nbackend:\n  docker:\n    volumes: []\n    netwrk: host\n");
    assertEquals(yaml + ": line 5: unknown key \"netwrk\" in backend.docker"
        + " (valid: cap_drop, default_memory_gb, default_vcpus, environment, image_pull_policy, network,"
        + " no_new_privileges, pids_limit, preserve_tasks_on_shutdown, pull_policy, read_only_rootfs, runtime,"
        + " sidecar_image, ulimits, volumes)",
        error(null, yaml));
  }

  @Test
  void yamlSyntaxErrorNamesLine() throws Exception {
    Path yaml = file("w.yaml", "worker_id: w\ncleanup: [\n");
    assertTrue(error(null, yaml).startsWith(yaml + ": line"), error(null, yaml));
  }

  @Test
  void yamlTypesAreStrict() throws Exception {
    Path yaml = file("w.yaml", "worker_id: w\nmax_concurrent_tasks: 2.9\n");
    assertTrue(error(null, yaml).startsWith(yaml + ": line 2"), error(null, yaml));
  }

  @Test
  void yamlAtMostOneBackend() throws Exception {
    Path yaml = file("w.yaml", "worker_id: w\nbackend:\n  docker: {}\n  direct: {}\n");
    assertTrue(error(null, yaml).endsWith("invalid config: at most one backend may be configured"), error(null, yaml));
  }

  @Test
  void yamlDockerBlockInTheNewerGoSpelling() throws Exception {
    Path yaml = file("go.yaml", "worker_id: w\none_shot: false\nbackend:\n  docker:\n    image_pull_policy: IfNotPresent\n"
        + "    sidecar_image: local/agent:1\n");
    WorkerOptions o = load(null, yaml, Map.of("OZ_API_KEY", "k"));
    assertEquals(List.of(PullPolicy.IF_NOT_PRESENT), docker(o).getPullPolicy());
    assertEquals("local/agent:1", docker(o).getSidecarImage());
    assertFalse(o.isOneShot());
    assertTrue(load(null, yaml, Map.of("OZ_API_KEY", "k"), "--one-shot").isOneShot(), "a true flag wins");
  }

  @Test
  void preserveTasksOnShutdownIsOffByDefaultAndSetByConfYamlOrFlag() throws Exception {
    Map<String, String> key = Map.of("OZ_API_KEY", "k");
    dev.oz.worker.docker.DockerBackendFactory factory = new dev.oz.worker.docker.DockerBackendFactory();
    WorkerOptions plain = load(null, null, key, "--worker-id", "w");
    assertFalse(docker(plain).isPreserveTasksOnShutdown());
    assertFalse(factory.capabilities(docker(plain)).preservesTasksOnShutdown(), "as in the Go worker");
    WorkerOptions flag = load(null, null, key, "--worker-id", "w", "--preserve-tasks-on-shutdown");
    assertTrue(factory.capabilities(docker(flag)).preservesTasksOnShutdown());
    assertTrue(docker(load("{\"worker_id\": \"w\", \"docker\": {\"preserve_tasks_on_shutdown\": true}}", null, key))
        .isPreserveTasksOnShutdown());
    Path yaml = file("p.yaml", "worker_id: w\nbackend:\n  docker:\n    preserve_tasks_on_shutdown: true\n");
    assertTrue(docker(load(null, yaml, key)).isPreserveTasksOnShutdown());
  }

  @Test
  void collectTaskLogsFromEverySourceCliOverEnvOverFile() throws Exception {
    Map<String, String> key = Map.of("OZ_API_KEY", "k");
    assertTrue(load(null, null, key, "--worker-id", "w").isCollectTaskLogs(), "on by default");
    Path off = file("off.yaml", "worker_id: w\ncollect_task_logs: false\n");
    assertFalse(load(null, off, key).isCollectTaskLogs(), "an explicit false in the YAML is honoured");
    assertTrue(load(null, file("on.yaml", "worker_id: w\ncollect_task_logs: true\n"), key).isCollectTaskLogs());
    assertFalse(load("{\"collect_task_logs\": false}", null, key, "--worker-id", "w").isCollectTaskLogs(), "-conf key");
    assertTrue(load(null, off, Map.of("OZ_API_KEY", "k", "OZ_COLLECT_TASK_LOGS", "true")).isCollectTaskLogs(),
        "env over file");
    assertFalse(load(null, null, Map.of("OZ_API_KEY", "k", "OZ_COLLECT_TASK_LOGS", "0"), "--worker-id", "w")
        .isCollectTaskLogs(), "Go's boolean spellings");
    assertTrue(load(null, off, Map.of("OZ_API_KEY", "k", "OZ_COLLECT_TASK_LOGS", "false"), "--collect-task-logs")
        .isCollectTaskLogs(), "a bare flag is true and wins");
    assertFalse(load(null, null, Map.of("OZ_API_KEY", "k", "OZ_COLLECT_TASK_LOGS", "true"), "--worker-id", "w",
        "--collect-task-logs=false").isCollectTaskLogs(), "flag over env");
    assertEquals("OZ_COLLECT_TASK_LOGS: expected true or false, got \"maybe\"",
        assertThrows(ConfigException.class, () -> load(null, null, Map.of("OZ_API_KEY", "k", "OZ_COLLECT_TASK_LOGS",
            "maybe"), "--worker-id", "w")).getMessage());
    assertEquals("--collect-task-logs: expected true or false, got \"no\"", assertThrows(ConfigException.class,
        () -> load(null, null, key, "--worker-id", "w", "--collect-task-logs=no")).getMessage());
  }

  @Test
  void yamlEnvironmentWithoutValueReadsHost() throws Exception {
    Path yaml = file("w.yaml", "worker_id: w\nbackend:\n  docker:\n    environment:\n      - name: HOSTY\n");
    WorkerOptions o = load(null, yaml, Map.of("HOSTY", "h", "OZ_API_KEY", "k"));
    assertEquals("h", docker(o).getEnvironment().get(0).value());
  }

  @Test
  void yamlNoCleanupAndFlagOverride() throws Exception {
    Path yaml = file("w.yaml", "worker_id: w\ncleanup: false\n");
    assertFalse(load(null, yaml, Map.of("OZ_API_KEY", "k")).isCleanup());
    assertFalse(load(null, null, Map.of("OZ_API_KEY", "k"), "--worker-id", "w", "--no-cleanup").isCleanup());
  }

  @Test
  void missingConfFile() {
    assertEquals("config file not found: /nope/worker.json", error("/nope/worker.json", null));
  }

  @Test
  void idleOnCompleteIsPassedOnUnchangedWithAWarningWhenItIsNoDuration() {
    WorkerOptions odd = load(null, null, NO_ENV, "--api-key", "k", "--worker-id", "w", "--idle-on-complete", "soon");
    assertEquals("soon", odd.getIdleOnComplete());
    assertEquals(List.of("idle_on_complete \"soon\" does not look like a duration (e.g. 45m, 10m, 0s);"
        + " it is passed to the agent unchanged"), odd.getWarnings());
    WorkerOptions fine = load(null, null, NO_ENV, "--api-key", "k", "--worker-id", "w", "--idle-on-complete", "1h30m");
    assertEquals(List.of(), fine.getWarnings());
  }

  @Test
  void maxConcurrentTasksZeroOnTheCommandLineKeepsTheFileValue() throws Exception {
    Path yaml = file("limit.yaml", "worker_id: w\nmax_concurrent_tasks: 3\n");
    assertEquals(3, load(null, yaml, NO_ENV, "--api-key", "k", "--max-concurrent-tasks", "0").getMaxConcurrentTasks());
    assertEquals(5, load(null, yaml, NO_ENV, "--api-key", "k", "--max-concurrent-tasks", "5").getMaxConcurrentTasks());
    assertEquals(0, load(null, null, NO_ENV, "--api-key", "k", "--worker-id", "w", "--max-concurrent-tasks", "0")
        .getMaxConcurrentTasks());
  }

  @Test
  void envFlagThatLooksLikeACommaListStaysOneVariableWithAWarningThatNamesNoValue() {
    WorkerOptions o = load(null, null, NO_ENV, "--api-key", "k", "--worker-id", "w",
        "-e", "A=s3cret,B=other,C_1=x", "-e", "NO_PROXY=a.example,b.example");
    assertEquals(List.of("A=s3cret,B=other,C_1=x", "NO_PROXY=a.example,b.example"),
        o.getEnvironment().stream().map(e -> e.name() + "=" + e.value()).toList());
    assertEquals(List.of("-e A: the value looks like a comma-separated list of assignments (B, C_1); the Go worker"
        + " would split it into separate variables, this worker keeps one variable A (repeat -e for each variable)"),
        o.getWarnings());
  }

  @Test
  void logStreamIsAutoByDefaultAndAnExplicitValueWins() {
    Map<String, String> hosted = Map.of("WARP_API_KEY", "k");
    Map<String, String> selfHosted = Map.of("OZ_API_KEY", "k");
    assertFalse(load(null, null, hosted, "--worker-id", "w").getLogs().isStream());
    assertTrue(load(null, null, selfHosted, "--worker-id", "w").getLogs().isStream());
    assertTrue(load("{\"logs\": {\"stream\": true}}", null, hosted, "--worker-id", "w").getLogs().isStream());
    assertFalse(load("{\"logs\": {\"stream\": false}}", null, selfHosted, "--worker-id", "w").getLogs().isStream());
    assertTrue(load("{\"logs\": {\"stream\": \"auto\"}}", null, selfHosted, "--worker-id", "w").getLogs().isStream());
    assertEquals("logs.stream must be true, false or \"auto\", got \"yes\"",
        assertThrows(ConfigException.class, () -> load("{\"logs\": {\"stream\": \"yes\"}}", null, selfHosted,
            "--worker-id", "w")).getMessage());
  }

  @Test
  void toStringHidesSecrets() {
    WorkerOptions o = load(null, null, NO_ENV, "--api-key", "super-secret", "--worker-id", "w", "-e", "TOKEN=hidden-value");
    assertFalse(o.toString().contains("super-secret"), o.toString());
    assertFalse(o.toString().contains("hidden-value"), o.toString());
  }

  @Test
  void jsonRoundTrip() {
    WorkerOptions o = load(null, null, NO_ENV, "--api-key", "k", "--worker-id", "w", "-e", "A=1", "-v", "/x:/y",
        "--pull-policy", "never", "--shutdown-grace-period", "1m30s");
    WorkerOptions back = WorkerOptions.fromJson(o.toJson()).validate();
    assertEquals(o.toJson(), back.toJson());
    assertEquals(Duration.ofSeconds(90), back.getShutdownGracePeriod());
  }

  /** An error for these flags, with an API key given so the later checks are reached. */
  private String invalid(String... flags) {
    String[] all = new String[flags.length + 2];
    all[0] = "--api-key";
    all[1] = "k";
    System.arraycopy(flags, 0, all, 2, flags.length);
    return error(null, null, all);
  }

  private String error(String conf, Path yaml, String... flags) {
    return assertThrows(ConfigException.class, () -> load(conf, yaml, NO_ENV, flags)).getMessage();
  }
}
