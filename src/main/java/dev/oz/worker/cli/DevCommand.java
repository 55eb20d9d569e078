package dev.oz.worker.cli;

import dev.oz.worker.backend.BackendRegistry;
import dev.oz.worker.config.ConfigException;
import dev.oz.worker.config.TelemetryOptions;
import dev.oz.worker.config.WorkerConfigLoader;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.devplane.DevControlPlane;
import java.io.PrintStream;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * {@code java -jar worker-fat.jar dev}: a local control plane and a worker connected to it, in one process,
 * so a task can be submitted and watched without an Oz account. Development and tests only: state is in
 * memory.
 */
final class DevCommand {
  static final int DEFAULT_PORT = 8080;
  static final String DEFAULT_HOST = "127.0.0.1";
  static final String DEFAULT_WORKER_ID = "dev-worker";

  private DevCommand() {
  }

  static int run(List<String> args, Map<String, String> env, PrintStream out, PrintStream err) {
    int port = DEFAULT_PORT;
    String host = DEFAULT_HOST;
    boolean withWorker = true;
    List<String> workerArgs = new ArrayList<>();
    try {
      for (int i = 0; i < args.size(); i++) {
        String a = args.get(i);
        switch (a) {
          case "--port" -> port = parsePort(value(args, ++i, a));
          case "--host" -> host = value(args, ++i, a);
          case "--no-worker" -> withWorker = false;
          case "-h", "--help" -> {
            out.print(usage());
            return Main.EXIT_OK;
          }
          default -> workerArgs.add(a);
        }
      }
      String key = env.getOrDefault("OZ_ADMIN_API_KEY", "");
      if (key.isBlank()) {
        byte[] random = new byte[24];
        new SecureRandom().nextBytes(random);
        key = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
      }
      DevControlPlane plane = new DevControlPlane(host, port, key);
      BackendRegistry backends = BackendRegistry.load();
      WorkerOptions options = withWorker ? workerOptions(workerArgs, env, host, port, key, backends) : null;
      LoggingSetup.configure(options == null ? "info" : options.getLogLevel(), options == null ? "text" : options.getLogFormat());
      return Main.serve(options, backends, plane);
    } catch (ConfigException e) {
      err.println("error: " + e.getMessage());
      return Main.EXIT_USAGE;
    }
  }

  /** The worker's options: the dev defaults, under whatever the usual sources and flags say. */
  private static WorkerOptions workerOptions(List<String> args, Map<String, String> env, String host, int port, String key,
      BackendRegistry backends) {
    CommandLine cli = CommandLine.parse(args, backends.settings());
    String connectHost = host.equals("0.0.0.0") ? "127.0.0.1" : host;
    // the connection settings of a real control plane in the environment must not redirect the dev worker
    Map<String, String> hostEnv = new java.util.HashMap<>(env);
    List.of("OZ_API_KEY", "WARP_API_KEY", "OZ_WS_URL", "OZ_SERVER_ROOT_URL").forEach(hostEnv::remove);
    return WorkerConfigLoader.load(cli.conf(), cli.configFile() == null ? null : Path.of(cli.configFile()), hostEnv,
        o -> {
          // the playground pushes no metrics unless asked: usually no collector listens on localhost:4318
          if (o.getTelemetry().get(TelemetryOptions.METRICS_EXPORTER) == null) {
            o.getTelemetry().set(TelemetryOptions.METRICS_EXPORTER, "none");
          }
          o.setApiKey(key)
              .setWorkerId(DEFAULT_WORKER_ID)
              .setWsUrl("ws://" + connectHost + ":" + port + DevControlPlane.WS_PATH)
              .setServerRootUrl("http://" + connectHost + ":" + port);
          cli.applyTo(o, env);
        }, backends.settings());
  }

  static void printBanner(DevControlPlane plane, WorkerOptions worker) {
    String base = "http://127.0.0.1:" + plane.port();
    System.out.println("""

        Local control plane on %s (development only: tasks live in memory and are gone on exit)
          admin key:  %s   (export OZ_ADMIN_API_KEY=<it> for the commands below)
          submit:     curl -s -X POST %s/api/v1/tasks -H "Authorization: Bearer $OZ_ADMIN_API_KEY" \\
                        -d '{"prompt": "say hello", "image": "oz-dev/echo-agent", "sidecar_image": "oz-dev/echo-agent"}'
          watch:      curl -sN "%s/api/v1/tasks/<task_id>/logs?follow=true" -H "Authorization: Bearer $OZ_ADMIN_API_KEY"
          state:      curl -s %s/api/v1/tasks/<task_id> -H "Authorization: Bearer $OZ_ADMIN_API_KEY"
          workers:    %s
        """.formatted(base, plane.adminKey(), base, base, base,
        worker == null ? "none started here; connect one with OZ_API_KEY=<admin key> --ws-url ws://127.0.0.1:"
            + plane.port() + DevControlPlane.WS_PATH : worker.getWorkerId() + " (this process)"));
  }

  private static String value(List<String> args, int i, String flag) {
    if (i >= args.size()) {
      throw new ConfigException("flag " + flag + " needs a value");
    }
    return args.get(i);
  }

  private static int parsePort(String v) {
    try {
      int p = Integer.parseInt(v);
      if (p < 0 || p > 65535) {
        throw new NumberFormatException();
      }
      return p;
    } catch (NumberFormatException e) {
      throw new ConfigException("--port: expected a port number, got \"" + v + "\"");
    }
  }

  static String usage() {
    return """
        Usage: java -jar worker-fat.jar dev [--port 8080] [--host 127.0.0.1] [--no-worker] [worker flags]

        Starts a local control plane and a worker connected to it, in one process. The control plane
        is a development and test tool, not a production control plane: it keeps every task in memory.

          --port N        port of the control plane's HTTP API and worker endpoint (default 8080)
          --host H        address to listen on (default 127.0.0.1)
          --no-worker     start only the control plane; connect workers yourself
          worker flags    as for the worker (e.g. --max-concurrent-tasks 2, --pull-policy never)

        Admin key: OZ_ADMIN_API_KEY, or a generated one printed at start. Workers connect with it as
        their API key. API (Authorization: Bearer <admin key>):
          POST /api/v1/tasks               {"prompt", "image"?, "sidecar_image"?, "env"?, "shape"?} -> {"task_id"}
          GET  /api/v1/tasks               all tasks
          GET  /api/v1/tasks/{id}          state: queued, claimed, running, succeeded, failed, cancelled
          GET  /api/v1/tasks/{id}/logs     output so far; ?follow=true streams text/event-stream until the end
          POST /api/v1/tasks/{id}/cancel   cancel
        """;
  }
}
