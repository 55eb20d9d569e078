package dev.oz.worker.docker;

import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerConfigFile;
import com.github.dockerjava.core.DockerContextMetaFile;
import com.github.dockerjava.core.LocalDirectorySSLConfig;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Where the worker looks for the Docker engine, in this order: {@code docker.host} in the worker config,
 * {@code DOCKER_HOST}, the context named by {@code DOCKER_CONTEXT} or the config file's {@code currentContext}
 * (as the docker CLI does), then the first socket that exists of {@code /var/run/docker.sock},
 * {@code $XDG_RUNTIME_DIR/docker.sock} (rootless engine) and {@code $HOME/.docker/run/docker.sock} (Docker
 * Desktop). The docker CLI stops at the default socket; the rootless fallbacks are the ones Testcontainers
 * probes, so an engine installed for one user is found without setting {@code DOCKER_HOST}.
 *
 * <p>TLS follows the docker CLI: any non-empty {@code DOCKER_TLS_VERIFY} turns it on for a {@code tcp://}
 * address, with {@code ca.pem}, {@code cert.pem} and {@code key.pem} from {@code DOCKER_CERT_PATH}.
 */
public final class EngineDiscovery {
  /** Where the docker CLI looks when nothing names an engine. */
  public static final Path DEFAULT_SOCKET = Path.of("/var/run/docker.sock");
  static final List<String> TLS_FILES = List.of("ca.pem", "cert.pem", "key.pem");

  private final Map<String, String> env;
  private final Path defaultSocket;

  private EngineDiscovery(Map<String, String> env, Path defaultSocket) {
    this.env = Map.copyOf(env);
    this.defaultSocket = defaultSocket;
  }

  /** This process's environment and the standard default socket. */
  public static EngineDiscovery fromEnvironment() {
    return new EngineDiscovery(System.getenv(), DEFAULT_SOCKET);
  }

  /**
   * @param env the variables to read ({@code DOCKER_*}, {@code HOME}, {@code XDG_RUNTIME_DIR}), instead of this
   *     process's environment
   * @param defaultSocket the socket tried before the rootless ones ({@link #DEFAULT_SOCKET} outside tests)
   */
  public static EngineDiscovery of(Map<String, String> env, Path defaultSocket) {
    return new EngineDiscovery(env, defaultSocket);
  }

  Map<String, String> env() {
    return env;
  }

  /** The sockets tried, in order, when neither the config, {@code DOCKER_HOST} nor a context names an engine. */
  List<Path> socketCandidates() {
    List<Path> sockets = new ArrayList<>(List.of(defaultSocket));
    String runtimeDir = value("XDG_RUNTIME_DIR");
    if (runtimeDir != null) {
      sockets.add(Path.of(runtimeDir, "docker.sock"));
    }
    sockets.add(home().resolve(".docker/run/docker.sock"));
    return sockets;
  }

  /**
   * Resolves where the engine is and how to talk to it, without contacting it. Fails with an operator-facing
   * message when the settings contradict each other or name files that are not there.
   */
  EngineTarget resolve(DockerOptions options) {
    DefaultDockerClientConfig.Builder builder = new DefaultDockerClientConfig.Builder()
        .withDockerConfig(configDir().toString())
        .withApiVersion(value("DOCKER_API_VERSION"));
    String host;
    String source;
    if (options.getHost() != null && !options.getHost().isBlank()) {
      host = options.getHost().trim();
      source = "docker.host";
    } else if (value("DOCKER_HOST") != null) {
      host = value("DOCKER_HOST");
      source = "DOCKER_HOST";
    } else {
      String context = context();
      if (context != null) {
        // docker-java reads the context's endpoint (and its TLS material, if stored with it)
        DockerClientConfig fromContext;
        try {
          fromContext = builder.withDockerContext(context).build();
        } catch (RuntimeException e) {
          throw new IllegalStateException("Docker context \"" + context + "\": " + e.getMessage(), e);
        }
        return target(builder, fromContext.getDockerHost().toString(), "context " + context);
      }
      List<Path> candidates = socketCandidates();
      Path socket = candidates.stream().filter(Files::exists).findFirst().orElse(null);
      if (socket == null) {
        socket = defaultSocket;
        source = "default socket; none of " + candidates.stream().map(Path::toString).collect(Collectors.joining(", "))
            + " exists";
      } else {
        source = socket.equals(defaultSocket) ? "default socket" : socketSource(socket);
      }
      host = "unix://" + socket;
    }
    return target(builder, host, source);
  }

  private EngineTarget target(DefaultDockerClientConfig.Builder builder, String host, String source) {
    boolean tls = value("DOCKER_TLS_VERIFY") != null;
    String certPath = value("DOCKER_CERT_PATH");
    URI uri = withDefaultPort(host, tls);
    if (!List.of("unix", "tcp", "npipe").contains(uri.getScheme())) {
      throw new IllegalStateException("unsupported Docker engine address " + host + " (from " + source
          + "): use unix:///path/to/docker.sock or tcp://host:port");
    }
    if (tls && "tcp".equals(uri.getScheme())) {
      checkCertificates(uri, source, certPath);
      builder.withDockerTlsVerify(true).withDockerCertPath(certPath);
    } else if (!source.startsWith("context ")) {
      builder.withDockerTlsVerify(false);
    }
    DockerClientConfig config;
    try {
      config = builder.withDockerHost(uri.toString()).build();
    } catch (RuntimeException e) {
      throw new IllegalStateException("Docker engine " + uri + " (from " + source + "): " + e.getMessage(), e);
    }
    // the certificates come from DOCKER_CERT_PATH, or from the context's TLS folder
    String usedCerts = config.getSSLConfig() instanceof LocalDirectorySSLConfig local ? local.getDockerCertPath() : null;
    return new EngineTarget(config, source, usedCerts, usedCerts == null && certPath != null && "tcp".equals(uri.getScheme()));
  }

  /** Like the docker CLI: a tcp address without a port means 2376 with TLS and 2375 without. */
  private static URI withDefaultPort(String host, boolean tls) {
    URI uri;
    try {
      uri = URI.create(host);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException("invalid Docker engine address " + host + ": " + e.getMessage(), e);
    }
    if ("tcp".equals(uri.getScheme()) && uri.getPort() == -1 && uri.getHost() != null) {
      return URI.create("tcp://" + uri.getHost() + ":" + (tls ? 2376 : 2375) + (uri.getRawPath() == null ? "" : uri.getRawPath()));
    }
    return uri;
  }

  private static void checkCertificates(URI uri, String source, String certPath) {
    String at = "Docker engine " + uri + " (from " + source + "): DOCKER_TLS_VERIFY is set but ";
    if (certPath == null) {
      throw new IllegalStateException(at + "DOCKER_CERT_PATH is not (it names the folder with ca.pem, cert.pem and key.pem)");
    }
    Path dir = Path.of(certPath);
    if (!Files.isDirectory(dir)) {
      throw new IllegalStateException(at + "DOCKER_CERT_PATH " + dir + " is not a folder");
    }
    List<String> missing = TLS_FILES.stream().filter(f -> !Files.isRegularFile(dir.resolve(f))).toList();
    if (!missing.isEmpty()) {
      throw new IllegalStateException(at + "DOCKER_CERT_PATH " + dir + " has no " + String.join(", ", missing)
          + " (the engine's CA certificate, the client certificate and its key are all needed)");
    }
  }

  /** The context to use, or null for none: {@code DOCKER_CONTEXT}, else the config file's current context. */
  private String context() {
    String name = value("DOCKER_CONTEXT");
    String origin = "DOCKER_CONTEXT";
    if (name == null) {
      try {
        name = DockerConfigFile.loadConfig(DockerClientConfig.getDefaultObjectMapper(), configDir().toString())
            .getCurrentContext();
      } catch (IOException e) {
        throw new IllegalStateException("cannot read " + configDir().resolve("config.json") + ": " + e.getMessage(), e);
      }
      origin = "currentContext in " + configDir().resolve("config.json");
    }
    if (name == null || name.isBlank() || name.equals("default")) {
      return null; // the CLI's built-in context: the default socket
    }
    if (DockerContextMetaFile.resolveContextMetaFile(DockerClientConfig.getDefaultObjectMapper(),
        configDir().toFile(), name).isEmpty()) {
      throw new IllegalStateException("Docker context \"" + name + "\" (" + origin + ") does not exist in "
          + configDir().resolve("contexts") + " (docker context ls lists them)");
    }
    return name;
  }

  private String socketSource(Path socket) {
    String runtimeDir = value("XDG_RUNTIME_DIR");
    if (runtimeDir != null && socket.equals(Path.of(runtimeDir, "docker.sock"))) {
      return "rootless socket $XDG_RUNTIME_DIR/docker.sock; " + defaultSocket + " is absent";
    }
    return "$HOME/.docker/run/docker.sock; " + defaultSocket + " is absent";
  }

  private Path configDir() {
    String dir = value("DOCKER_CONFIG");
    return dir != null ? Path.of(dir) : home().resolve(".docker");
  }

  private Path home() {
    String home = value("HOME");
    return Path.of(home != null ? home : System.getProperty("user.home"));
  }

  private String value(String name) {
    String v = env.get(name);
    return v == null || v.isBlank() ? null : v.trim();
  }
}
