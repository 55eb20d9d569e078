package dev.oz.worker.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.core.LocalDirectorySSLConfig;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the worker looks for the engine, without an engine: sockets are plain files here. */
class EngineDiscoveryTest {
  @TempDir
  Path tmp;
  Path home;
  Path runtimeDir;
  Path defaultSocket;
  Map<String, String> env;

  @BeforeEach
  void setUp() throws Exception {
    home = Files.createDirectories(tmp.resolve("home"));
    runtimeDir = Files.createDirectories(tmp.resolve("run/user/1000"));
    defaultSocket = tmp.resolve("var/run/docker.sock");
    env = new HashMap<>(Map.of("HOME", home.toString(), "XDG_RUNTIME_DIR", runtimeDir.toString()));
  }

  private EngineTarget resolve() {
    return resolve(new DockerOptions());
  }

  private EngineTarget resolve(DockerOptions options) {
    return EngineDiscovery.of(env, defaultSocket).resolve(options);
  }

  private static Path touch(Path file) throws Exception {
    Files.createDirectories(file.getParent());
    return Files.writeString(file, "");
  }

  private void context(String name, String host) throws Exception {
    String id = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8)));
    touch(home.resolve(".docker/contexts/meta/" + id + "/meta.json"));
    Files.writeString(home.resolve(".docker/contexts/meta/" + id + "/meta.json"), new JsonObject().put("Name", name)
        .put("Endpoints", new JsonObject().put("docker", new JsonObject().put("Host", host))).encode());
  }

  @Test
  void socketsAreTriedInOrderDefaultThenXdgRuntimeDirThenHome() throws Exception {
    Path xdgSocket = touch(runtimeDir.resolve("docker.sock"));
    Path homeSocket = touch(home.resolve(".docker/run/docker.sock"));
    assertEquals(List.of(defaultSocket, xdgSocket, homeSocket), EngineDiscovery.of(env, defaultSocket).socketCandidates());

    touch(defaultSocket);
    assertEquals("unix://" + defaultSocket, resolve().address());
    assertEquals("default socket", resolve().source());

    Files.delete(defaultSocket);
    assertEquals("unix://" + xdgSocket, resolve().address());
    assertEquals("rootless socket $XDG_RUNTIME_DIR/docker.sock; " + defaultSocket + " is absent", resolve().source());

    Files.delete(xdgSocket);
    assertEquals("unix://" + homeSocket, resolve().address());
    assertEquals("$HOME/.docker/run/docker.sock; " + defaultSocket + " is absent", resolve().source());

    env.remove("XDG_RUNTIME_DIR");
    assertEquals(List.of(defaultSocket, homeSocket), EngineDiscovery.of(env, defaultSocket).socketCandidates());
    assertEquals("unix://" + homeSocket, resolve().address());

    Files.delete(homeSocket);
    EngineTarget none = resolve();
    assertEquals("unix://" + defaultSocket, none.address(), "nothing found: the default, whose absence the error names");
    assertEquals("default socket; none of " + defaultSocket + ", " + homeSocket + " exists", none.source());
  }

  @Test
  void configBeatsDockerHostWhichBeatsContextsWhichBeatSockets() throws Exception {
    touch(runtimeDir.resolve("docker.sock"));
    context("remote", "tcp://10.1.2.3:2375");
    Files.writeString(home.resolve(".docker/config.json"), "{\"currentContext\": \"remote\"}");
    assertEquals("tcp://10.1.2.3:2375", resolve().address());
    assertEquals("context remote", resolve().source());

    context("other", "unix:///other.sock");
    env.put("DOCKER_CONTEXT", "other");
    assertEquals("unix:///other.sock", resolve().address(), "DOCKER_CONTEXT beats currentContext");

    env.put("DOCKER_HOST", "tcp://10.9.9.9:2375");
    assertEquals("tcp://10.9.9.9:2375", resolve().address());
    assertEquals("DOCKER_HOST", resolve().source());

    EngineTarget configured = resolve(new DockerOptions().setHost("unix:///configured.sock"));
    assertEquals("unix:///configured.sock", configured.address());
    assertEquals("docker.host", configured.source());

    env.remove("DOCKER_HOST");
    env.put("DOCKER_CONTEXT", "default");
    assertEquals("unix://" + runtimeDir.resolve("docker.sock"), resolve().address(), "the CLI's built-in context");
  }

  @Test
  void aContextBringsItsOwnTlsMaterial() throws Exception {
    context("secure", "tcp://engine.example:2376");
    String id = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest("secure".getBytes(StandardCharsets.UTF_8)));
    Path tls = home.resolve(".docker/contexts/tls/" + id + "/docker");
    for (String f : EngineDiscovery.TLS_FILES) {
      touch(tls.resolve(f));
    }
    env.put("DOCKER_CONTEXT", "secure");
    EngineTarget target = resolve();
    assertEquals("tcp://engine.example:2376 (context secure, TLS with certificates from " + tls + ")", target.describe());
  }

  @Test
  void aContextThatDoesNotExistIsAnError() {
    env.put("DOCKER_CONTEXT", "nowhere");
    IllegalStateException e = assertThrows(IllegalStateException.class, this::resolve);
    assertEquals("Docker context \"nowhere\" (DOCKER_CONTEXT) does not exist in " + home.resolve(".docker/contexts")
        + " (docker context ls lists them)", e.getMessage());
  }

  @Test
  void dockerConfigMovesTheContexts() throws Exception {
    Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
    env.put("DOCKER_CONFIG", elsewhere.toString());
    Files.writeString(elsewhere.resolve("config.json"), "{\"currentContext\": \"missing\"}");
    IllegalStateException e = assertThrows(IllegalStateException.class, this::resolve);
    assertTrue(e.getMessage().contains("(currentContext in " + elsewhere.resolve("config.json") + ")"), e.getMessage());
  }

  @Test
  void tlsNeedsTheCertificateFolderWithAllThreeFiles() throws Exception {
    env.put("DOCKER_HOST", "tcp://engine.example:2376");
    env.put("DOCKER_TLS_VERIFY", "1");
    IllegalStateException noPath = assertThrows(IllegalStateException.class, this::resolve);
    assertEquals("Docker engine tcp://engine.example:2376 (from DOCKER_HOST): DOCKER_TLS_VERIFY is set but"
        + " DOCKER_CERT_PATH is not (it names the folder with ca.pem, cert.pem and key.pem)", noPath.getMessage());

    Path certs = Files.createDirectories(tmp.resolve("certs"));
    touch(certs.resolve("ca.pem"));
    env.put("DOCKER_CERT_PATH", certs.toString());
    IllegalStateException noClient = assertThrows(IllegalStateException.class, this::resolve);
    assertEquals("Docker engine tcp://engine.example:2376 (from DOCKER_HOST): DOCKER_TLS_VERIFY is set but"
        + " DOCKER_CERT_PATH " + certs + " has no cert.pem, key.pem (the engine's CA certificate, the client"
        + " certificate and its key are all needed)", noClient.getMessage());

    touch(certs.resolve("cert.pem"));
    touch(certs.resolve("key.pem"));
    EngineTarget target = resolve();
    assertEquals(certs.toString(), target.certPath());
    assertEquals(certs.toString(), ((LocalDirectorySSLConfig) target.config().getSSLConfig()).getDockerCertPath());
    assertEquals("tcp://engine.example:2376 (DOCKER_HOST, TLS with certificates from " + certs + ")", target.describe());
  }

  @Test
  void tlsVerifyIsOnForAnyValueAsInTheDockerCliAndOnlyForTcp() throws Exception {
    Path certs = Files.createDirectories(tmp.resolve("certs"));
    for (String f : EngineDiscovery.TLS_FILES) {
      touch(certs.resolve(f));
    }
    env.put("DOCKER_CERT_PATH", certs.toString());
    env.put("DOCKER_HOST", "tcp://engine.example");
    env.put("DOCKER_TLS_VERIFY", "yes");
    assertEquals("tcp://engine.example:2376", resolve().address(), "the TLS port when none is given");
    assertTrue(resolve().tls());

    env.put("DOCKER_HOST", "unix:///var/run/other.sock");
    assertFalse(resolve().tls(), "a socket is never TLS");
    assertNull(resolve().config().getSSLConfig());
  }

  @Test
  void aCertPathWithoutTlsVerifyIsPlainTcpAsInTheDockerCli() throws Exception {
    env.put("DOCKER_HOST", "tcp://engine.example");
    EngineTarget plain = resolve();
    assertEquals("tcp://engine.example:2375", plain.address(), "the plain port when none is given");
    assertFalse(plain.certPathIgnored());

    env.put("DOCKER_CERT_PATH", tmp.toString());
    EngineTarget ignored = resolve();
    assertFalse(ignored.tls());
    assertNull(ignored.config().getSSLConfig());
    assertTrue(ignored.certPathIgnored(), "worth a warning: the Go worker would have used TLS");
  }

  @Test
  void apiVersionAndUnsupportedAddresses() {
    env.put("DOCKER_API_VERSION", "1.41");
    env.put("DOCKER_HOST", "unix:///var/run/docker.sock");
    assertEquals("1.41", resolve().config().getApiVersion().getVersion());

    env.put("DOCKER_HOST", "ssh://user@host");
    IllegalStateException e = assertThrows(IllegalStateException.class, this::resolve);
    assertEquals("unsupported Docker engine address ssh://user@host (from DOCKER_HOST): use"
        + " unix:///path/to/docker.sock or tcp://host:port", e.getMessage());
  }
}
