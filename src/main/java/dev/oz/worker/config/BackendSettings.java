package dev.oz.worker.config;

import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * What the configuration knows of a backend: its name and how its settings arrive, not their keys. Each source
 * ends in the backend's JSON block ({@code "<name>": {...}} in {@code -conf}): the Go YAML {@code backend.<name>}
 * block is translated into it, and the backend's flags edit it. The backend parses the block when the worker starts
 * (see the backend SPI's factory).
 */
public interface BackendSettings {
  /** The Go worker's backends: names the YAML accepts even where this worker has no such backend (yet). */
  Set<String> GO_BACKENDS = Set.of("docker", "direct", "kubernetes", "command");

  /** The backend's name: {@code --backend <name>}, the {@code -conf} block and the YAML {@code backend.<name>} block. */
  String name();

  /** Flags that only this backend understands; each edits the backend's JSON block. */
  default List<Flag> flags() {
    return List.of();
  }

  /**
   * Translates the Go worker's {@code backend.<name>} YAML block into this backend's JSON block; strict (unknown keys
   * are errors naming their line, see {@link GoYamlBlock#bind}).
   */
  JsonObject fromGoYaml(GoYamlBlock block, Map<String, String> hostEnv);

  /**
   * Parses and validates this backend's block (empty when none was given); errors are {@link ConfigException}s that
   * name the key as {@code <name>.<key>}.
   *
   * @param hostEnv for entries that take the host's value
   * @return the backend's settings
   */
  Object options(JsonObject block, Map<String, String> hostEnv);

  /**
   * The settings of backend {@code name}, or a {@link ConfigException} that says why there is none: a Go worker's
   * backend this worker lacks, or an unknown name (listing the available ones).
   */
  static BackendSettings select(Map<String, ? extends BackendSettings> available, String name) {
    BackendSettings s = available.get(name);
    if (s != null) {
      return s;
    }
    String list = String.join(", ", new java.util.TreeSet<>(available.keySet()));
    if (GO_BACKENDS.contains(name)) {
      throw new ConfigException("backend \"" + name + "\" is not supported by this worker yet (available: " + list + ")");
    }
    throw new ConfigException("unknown backend \"" + name + "\" (available: " + list + ")");
  }

  /**
   * A command-line flag of a backend.
   *
   * @param valueName null for a switch
   * @param apply sets the flag's value in the backend's JSON block
   */
  record Flag(List<String> names, String valueName, String help, BiConsumer<JsonObject, String> apply) {
  }
}
