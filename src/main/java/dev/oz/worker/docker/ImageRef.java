package dev.oz.worker.docker;

/**
 * An image reference split the way Docker reads it: registry host (absent for Docker Hub), repository, and
 * tag or digest. {@code ubuntu} is {@code docker.io/library/ubuntu:latest}.
 */
record ImageRef(String registry, String repository, String tag, String digest) {
  static final String DOCKER_HUB = "docker.io";

  static ImageRef parse(String image) {
    String rest = image.trim();
    String digest = null;
    int at = rest.indexOf('@');
    if (at >= 0) {
      digest = rest.substring(at + 1);
      rest = rest.substring(0, at);
    }
    String tag = null;
    int colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/')) {
      tag = rest.substring(colon + 1);
      rest = rest.substring(0, colon);
    }
    String registry = DOCKER_HUB;
    int slash = rest.indexOf('/');
    if (slash > 0) {
      String first = rest.substring(0, slash);
      if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
        registry = first;
        rest = rest.substring(slash + 1);
      }
    }
    if (registry.equals("index.docker.io")) {
      registry = DOCKER_HUB;
    }
    if (registry.equals(DOCKER_HUB) && !rest.contains("/")) {
      rest = "library/" + rest;
    }
    if (tag == null && digest == null) {
      tag = "latest";
    }
    return new ImageRef(registry, rest, tag, digest);
  }

  boolean dockerHub() {
    return registry.equals(DOCKER_HUB);
  }

  /** The short form Docker prints: no {@code docker.io/}, no {@code library/}, no tag or digest. */
  String familiarName() {
    if (dockerHub()) {
      return repository.startsWith("library/") ? repository.substring("library/".length()) : repository;
    }
    return registry + "/" + repository;
  }

  /** What to pass as {@code fromImage}: repository with registry, tag or digest, never "all tags". */
  String pullName() {
    String name = dockerHub() ? familiarName() : registry + "/" + repository;
    return digest != null ? name + "@" + digest : name + ":" + tag;
  }

  /** The key of this registry in {@code config.json}'s {@code auths} and credential helpers. */
  String authKey() {
    return dockerHub() ? "https://index.docker.io/v1/" : registry;
  }
}
