package dev.oz.worker.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Version;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import com.github.dockerjava.transport.SSLConfig;
import dev.oz.worker.net.SocketErrors;
import java.nio.file.Path;
import java.security.cert.CertPathBuilderException;
import java.time.Duration;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLPeerUnverifiedException;

/** Connects to the engine {@link EngineDiscovery} found, and explains in operator terms why that failed. */
final class DockerEngine {
  static final Set<String> SUPPORTED_PLATFORMS = Set.of("linux/amd64", "linux/arm64");
  /** Never initialised: a Unix socket connection makes no TLS handshake. */
  private static final SSLContext UNUSED_TLS_CONTEXT = new SSLContext(null, null, "none") { };

  private DockerEngine() {
  }

  /** Builds the HTTP client (its pool renewable after an engine restart); does not contact the engine. */
  static RenewableHttpClient httpClient(EngineTarget target) {
    DockerClientConfig config = target.config();
    try {
      return new RenewableHttpClient(() -> httpClient(config));
    } catch (RuntimeException e) { // reading the TLS material
      throw new IllegalStateException("Docker engine " + target.describe() + ": " + rootMessage(e), e);
    }
  }

  static DockerClient connect(EngineTarget target, RenewableHttpClient http) {
    return DockerClientImpl.getInstance(target.config(), http);
  }

  /** A client for health pings: short timeouts, so a hung engine counts as away within seconds. */
  static DockerClient connectForProbes(EngineTarget target) {
    DockerClientConfig config = target.config();
    return DockerClientImpl.getInstance(config, new ApacheDockerHttpClient.Builder()
        .dockerHost(config.getDockerHost())
        .sslConfig(sslConfig(config))
        .connectionTimeout(Duration.ofSeconds(2))
        .responseTimeout(Duration.ofSeconds(3))
        .build());
  }

  /**
   * Unless given a TLS context, docker-java's HTTP client builds the JVM's default one (every security provider and
   * the trust store: a few hundred milliseconds of start-up CPU) even for a Unix socket, which never uses it. (Not
   * for plain {@code tcp://}: there any context would switch the client to https.)
   */
  private static SSLConfig sslConfig(DockerClientConfig config) {
    return config.getSSLConfig() == null && "unix".equals(config.getDockerHost().getScheme())
        ? () -> UNUSED_TLS_CONTEXT : config.getSSLConfig();
  }

  private static ApacheDockerHttpClient httpClient(DockerClientConfig config) {
    // No response timeout: container waits and log follows legitimately stay silent for hours. No
    // connection cap either: each running task holds a wait and a log stream.
    return new ApacheDockerHttpClient.Builder()
        .dockerHost(config.getDockerHost())
        .sslConfig(sslConfig(config))
        .connectionTimeout(Duration.ofSeconds(30))
        .build();
  }

  /**
   * Pings the engine and returns its platform ({@code os/arch}); fails with an operator-facing message when
   * it is unreachable or not a supported platform. Blocking.
   */
  static String checkPlatform(DockerClient docker, EngineTarget target) {
    try {
      docker.pingCmd().exec();
    } catch (RuntimeException e) {
      throw new IllegalStateException("failed to reach Docker daemon at " + target.describe() + ": "
          + unreachableBecause(e, target), e);
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

  /** The likely cause first, then the error as the transport reported it. */
  static String unreachableBecause(Throwable err, EngineTarget target) {
    String raw = rootMessage(err);
    String all = messages(err);
    String why = null;
    if (target.tls()) {
      Path certs = Path.of(target.certPath());
      if (has(err, CertPathBuilderException.class) || all.contains("PKIX path")) {
        why = "TLS: the engine's certificate is not signed by the CA in " + certs.resolve("ca.pem");
      } else if (has(err, SSLPeerUnverifiedException.class) || all.contains("subject alternative name")) {
        why = "TLS: the engine's certificate is not issued for " + target.config().getDockerHost().getHost();
      } else if (all.contains("Unsupported or unrecognized SSL message") || all.contains("plaintext connection")) {
        why = "the engine does not speak TLS at this address (for a plain tcp:// engine, unset DOCKER_TLS_VERIFY)";
      } else if (all.contains("Broken pipe") || all.contains("Connection reset") || all.contains("bad_certificate")
          || all.contains("certificate_required") || all.contains("unknown_ca")) {
        // the engine hangs up during the handshake; Java does not even send a certificate the engine's CA did not sign
        why = "TLS: the engine ended the handshake: it does not accept the client certificate "
            + certs.resolve("cert.pem") + " (is it signed by the CA the engine trusts, its --tlscacert?)";
      }
    } else if (all.contains("HTTP request to an HTTPS server")) {
      why = "the engine expects TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the folder with ca.pem, cert.pem"
          + " and key.pem";
    }
    if (why != null) {
      return why + " (" + raw + ")";
    }
    return raw + " (is the engine running, and are DOCKER_HOST / DOCKER_CONTEXT or the socket mount right?)";
  }

  private static boolean has(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (type.isInstance(c)) {
        return true;
      }
    }
    return false;
  }

  private static String messages(Throwable t) {
    StringBuilder all = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      all.append(c.getMessage()).append('\n');
    }
    return all.toString();
  }

  static String rootMessage(Throwable t) {
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String msg = SocketErrors.reason(root);
    String top = t.getMessage();
    return top != null && !top.equals(msg) && !top.contains(msg) ? top.trim() + ": " + msg.trim() : msg.trim();
  }
}
