package dev.oz.worker.docker;

import com.github.dockerjava.core.DockerClientConfig;

/**
 * A discovered engine: how to reach it and how it was found, for messages.
 *
 * @param config docker-java's settings (address, API version, TLS)
 * @param source what named the address ({@code DOCKER_HOST}, {@code context NAME}, {@code default socket}, ...)
 * @param certPath the folder of ca.pem, cert.pem and key.pem when TLS is on, else null
 * @param certPathIgnored {@code DOCKER_CERT_PATH} is set for a tcp address but TLS is off ({@code DOCKER_TLS_VERIFY} unset)
 */
record EngineTarget(DockerClientConfig config, String source, String certPath, boolean certPathIgnored) {

  String address() {
    return config.getDockerHost().toString();
  }

  boolean tls() {
    return certPath != null;
  }

  /** {@code tcp://h:2376 (DOCKER_HOST, TLS with certificates from /certs)}. */
  String describe() {
    return address() + " (" + source + (tls() ? ", TLS with certificates from " + certPath : "") + ")";
  }
}
