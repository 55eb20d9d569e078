package dev.oz.worker.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Version;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import dev.oz.worker.docker.DockerOptions;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

/**
 * Finds and connects to the Docker engine the way operators expect: {@code DOCKER_HOST} (unix or tcp), the
 * default socket, {@code DOCKER_CONTEXT} / the config file's current context, {@code DOCKER_API_VERSION},
 * {@code DOCKER_TLS_VERIFY} + {@code DOCKER_CERT_PATH}; {@code docker.host} in the worker config wins.
 */
final class DockerEngine {
  static final Set<String> SUPPORTED_PLATFORMS = Set.of("linux/amd64", "linux/arm64");

  private DockerEngine() {
  }

  /** Builds the client; does not contact the engine. */
  static DockerClient connect(DockerOptions options, Map<String, String> env) {
    DockerClientConfig config = config(options, env);
    return DockerClientImpl.getInstance(config, httpClient(config));
  }

  /** Where the engine is, as discovered (for messages). */
  static String address(DockerOptions options, Map<String, String> env) {
    return config(options, env).getDockerHost().toString();
  }

  private static DockerClientConfig config(DockerOptions options, Map<String, String> env) {
    DefaultDockerClientConfig.Builder builder = DefaultDockerClientConfig.createDefaultConfigBuilder();
    if (options.getHost() != null && !options.getHost().isBlank()) {
      builder.withDockerHost(options.getHost());
    }
    String apiVersion = env.get("DOCKER_API_VERSION");
    if (apiVersion != null && !apiVersion.isBlank()) {
      builder.withApiVersion(apiVersion.trim());
    }
    return builder.build();
  }

  private static ApacheDockerHttpClient httpClient(DockerClientConfig config) {
    // No response timeout: container waits and log follows legitimately stay silent for hours. No
    // connection cap either: each running task holds a wait and a log stream.
    return new ApacheDockerHttpClient.Builder()
        .dockerHost(config.getDockerHost())
        .sslConfig(config.getSSLConfig())
        .connectionTimeout(Duration.ofSeconds(30))
        .build();
  }

  /**
   * Pings the engine and returns its platform ({@code os/arch}); fails with an operator-facing message when
   * it is unreachable or not a supported platform. Blocking.
   */
  static String checkPlatform(DockerClient docker, String address) {
    try {
      docker.pingCmd().exec();
    } catch (RuntimeException e) {
      throw new IllegalStateException("failed to reach Docker daemon at " + address + ": " + rootMessage(e)
          + " (is the engine running, and are DOCKER_HOST / DOCKER_CONTEXT or the socket mount right?)", e);
    }
    Version version;
    try {
      version = docker.versionCmd().exec();
    } catch (RuntimeException e) {
      throw new IllegalStateException("failed to get Docker version: " + rootMessage(e), e);
    }
    String platform = version.getOperatingSystem() + "/" + version.getArch();
    if (!SUPPORTED_PLATFORMS.contains(platform)) {
      throw new IllegalStateException("unsupported Docker platform " + platform
          + " (only linux/amd64 and linux/arm64 are supported)");
    }
    return platform;
  }

  static String rootMessage(Throwable t) {
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String msg = root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
    String top = t.getMessage();
    return top != null && !top.equals(msg) && !top.contains(msg) ? top.trim() + ": " + msg.trim() : msg.trim();
  }
}
