package dev.oz.worker.docker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.model.AuthConfig;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registry credentials from the Docker config file, as the docker CLI finds them: {@code credHelpers} for the
 * registry, else {@code credsStore}, else {@code auths}. docker-java reads only {@code auths}, so helpers are
 * run here. Blocking (file and process I/O): call from a worker thread.
 */
final class RegistryAuth {
  private static final Logger log = LoggerFactory.getLogger(RegistryAuth.class);
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final long HELPER_TIMEOUT_SECONDS = 30;

  private final Path configFile;
  private final String path;

  RegistryAuth(Map<String, String> env) {
    this.path = env.getOrDefault("PATH", "");
    String dir = env.get("DOCKER_CONFIG");
    Path base = dir != null && !dir.isBlank() ? Path.of(dir) : Path.of(System.getProperty("user.home"), ".docker");
    this.configFile = base.resolve("config.json");
  }

  /** Credentials for {@code image}, or null to pull anonymously. Never throws: problems are logged. */
  AuthConfig forImage(String image) {
    ImageRef ref = ImageRef.parse(image);
    String key = ref.authKey();
    if (!Files.isRegularFile(configFile)) {
      return null;
    }
    try {
      JsonNode config = MAPPER.readTree(configFile.toFile());
      String helper = config.path("credHelpers").path(ref.registry()).asText(null);
      if (helper == null && ref.dockerHub()) {
        helper = config.path("credHelpers").path(key).asText(null);
      }
      if (helper == null) {
        helper = config.path("credsStore").asText(null);
      }
      AuthConfig auth = null;
      if (helper != null && !helper.isBlank()) {
        try {
          auth = fromHelper(helper, key);
        } catch (IOException e) {
          log.warn("Credential helper docker-credential-{} failed for {}: {}; trying auths", helper, key, e.getMessage());
        }
      }
      if (auth == null) {
        auth = fromAuths(config.path("auths"), key, ref);
      }
      if (auth == null || auth.getUsername() == null || auth.getUsername().isEmpty()) {
        return null;
      }
      return auth.withRegistryAddress(key);
    } catch (IOException | RuntimeException e) {
      log.warn("Failed to load Docker config {}: {}. Attempting pull without auth.", configFile, e.getMessage());
      return null;
    }
  }

  private static AuthConfig fromAuths(JsonNode auths, String key, ImageRef ref) {
    JsonNode entry = auths.path(key);
    if (entry.isMissingNode() && ref.dockerHub()) {
      entry = auths.path("docker.io");
    }
    if (entry.isMissingNode()) {
      return null;
    }
    AuthConfig auth = new AuthConfig();
    String encoded = entry.path("auth").asText("");
    if (!encoded.isEmpty()) {
      String decoded = new String(Base64.getDecoder().decode(encoded), StandardCharsets.UTF_8);
      int colon = decoded.indexOf(':');
      if (colon > 0) {
        auth.withUsername(decoded.substring(0, colon)).withPassword(decoded.substring(colon + 1));
      }
    }
    if (entry.hasNonNull("username")) {
      auth.withUsername(entry.get("username").asText());
    }
    if (entry.hasNonNull("password")) {
      auth.withPassword(entry.get("password").asText());
    }
    if (entry.hasNonNull("identitytoken")) {
      auth.withIdentityToken(entry.get("identitytoken").asText());
    }
    return auth;
  }

  /** The helper found on the configured PATH (the process environment given at construction). */
  private String helperCommand(String name) {
    for (String dir : path.split(java.io.File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
        return Path.of(dir, name).toString();
      }
    }
    return name;
  }

  /** Runs {@code docker-credential-<helper> get}; a helper that has nothing for the registry gives null. */
  private AuthConfig fromHelper(String helper, String key) throws IOException {
    // stdout goes to a file, so a helper that hangs (a locked keychain, a pinentry prompt) cannot block us
    // past the timeout; stderr is discarded so it cannot fill a pipe
    Path stdout = Files.createTempFile("oz-credential-helper", ".json");
    byte[] out;
    try {
      Process p = new ProcessBuilder(helperCommand("docker-credential-" + helper), "get")
          .redirectOutput(stdout.toFile())
          .redirectError(ProcessBuilder.Redirect.DISCARD)
          .start();
      try (OutputStream in = p.getOutputStream()) {
        in.write(key.getBytes(StandardCharsets.UTF_8));
      }
      try {
        if (!p.waitFor(HELPER_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          throw new IOException("credential helper docker-credential-" + helper + " timed out after "
              + HELPER_TIMEOUT_SECONDS + "s");
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while running docker-credential-" + helper);
      }
      if (p.exitValue() != 0) {
        log.debug("docker-credential-{} has no credentials for {}", helper, key);
        return null;
      }
      out = Files.readAllBytes(stdout);
    } finally {
      Files.deleteIfExists(stdout);
    }
    JsonNode creds = MAPPER.readTree(out);
    String user = creds.path("Username").asText("");
    String secret = creds.path("Secret").asText("");
    if (user.equals("<token>")) {
      return new AuthConfig().withUsername(user).withIdentityToken(secret);
    }
    return new AuthConfig().withUsername(user).withPassword(secret);
  }
}
