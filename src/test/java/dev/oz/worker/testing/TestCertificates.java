package dev.oz.worker.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A CA with a server certificate for 127.0.0.1/localhost and a client certificate, made with {@code openssl}
 * the way Docker's "protect the daemon socket" guide does (EC keys: fast to generate). The client side sits in
 * {@link #clientDir()} under the names {@code DOCKER_CERT_PATH} expects: ca.pem, cert.pem, key.pem.
 */
public final class TestCertificates {
  private final Path dir;

  private TestCertificates(Path dir) {
    this.dir = dir;
  }

  /** Creates {@code dir} and everything in it; {@code caName} tells CAs apart in certificate subjects. */
  public static TestCertificates create(Path dir, String caName) {
    try {
      Files.createDirectories(dir.resolve("client"));
      openssl(dir, "req", "-x509", "-keyout", "ca-key.pem", "-out", "ca.pem", "-subj", "/CN=" + caName);
      openssl(dir, "req", "-x509", "-keyout", "server-key.pem", "-out", "server-cert.pem", "-subj", "/CN=localhost",
          "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
          "-addext", "extendedKeyUsage=serverAuth", "-addext", "basicConstraints=critical,CA:FALSE");
      openssl(dir, "req", "-x509", "-keyout", "client/key.pem", "-out", "client/cert.pem", "-subj", "/CN=oz-worker",
          "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-addext", "extendedKeyUsage=clientAuth",
          "-addext", "basicConstraints=critical,CA:FALSE");
      Files.copy(dir.resolve("ca.pem"), dir.resolve("client/ca.pem"));
    } catch (IOException e) {
      throw new AssertionError("writing test certificates to " + dir + ": " + e.getMessage(), e);
    }
    return new TestCertificates(dir);
  }

  private static void openssl(Path dir, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    cmd.addAll(List.of("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"));
    Process p;
    try {
      p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new AssertionError("openssl is needed to make test certificates (apt-get install -y openssl): "
          + e.getMessage(), e);
    }
    try {
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new AssertionError(String.join(" ", cmd) + " failed:\n" + out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  public Path ca() {
    return dir.resolve("ca.pem");
  }

  public Path serverCert() {
    return dir.resolve("server-cert.pem");
  }

  public Path serverKey() {
    return dir.resolve("server-key.pem");
  }

  /** ca.pem, cert.pem and key.pem of the client: a {@code DOCKER_CERT_PATH}. */
  public Path clientDir() {
    return dir.resolve("client");
  }

  /**
   * A new {@code DOCKER_CERT_PATH} at {@code target} with the CA certificate of {@code caFrom} and the client
   * certificate and key of {@code clientFrom}, to mix certificates of two CAs; a null source leaves those out.
   */
  public static Path certPath(Path target, TestCertificates caFrom, TestCertificates clientFrom) {
    try {
      Files.createDirectories(target);
      if (caFrom != null) {
        Files.copy(caFrom.ca(), target.resolve("ca.pem"));
      }
      if (clientFrom != null) {
        Files.copy(clientFrom.clientDir().resolve("cert.pem"), target.resolve("cert.pem"));
        Files.copy(clientFrom.clientDir().resolve("key.pem"), target.resolve("key.pem"));
      }
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return target;
  }
}
