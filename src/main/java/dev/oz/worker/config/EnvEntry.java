package dev.oz.worker.config;

import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One environment variable the worker adds to every task container. A bare {@code KEY} takes the
 * host's value at start-up (empty when the host does not set it), as the Go worker does.
 */
public record EnvEntry(String name, String value) {

  public EnvEntry {
    checkName("environment entry", name);
    value = value == null ? "" : value;
  }

  /** Parses a {@code -e} flag value: split at the first '='; a bare key reads the host environment. */
  public static EnvEntry parseFlag(String entry, Map<String, String> hostEnv) {
    if (entry == null || entry.isEmpty()) {
      throw new ConfigException("invalid --env flag: empty value");
    }
    int eq = entry.indexOf('=');
    String key = eq < 0 ? entry : entry.substring(0, eq);
    if (key.isEmpty()) {
      throw new ConfigException("invalid --env flag: missing key in \"" + entry + "\"");
    }
    if (hasWhitespace(key)) {
      // the key only: the value may be a secret
      throw new ConfigException("invalid --env flag: key contains whitespace in \"" + key + "\"");
    }
    String value = eq < 0 ? hostEnv.getOrDefault(key, "") : entry.substring(eq + 1);
    return new EnvEntry(key, value);
  }

  /**
   * The names after commas when {@code entry}'s value reads like {@code 1,B=2,C=3} (how {@code -e A=1,B=2,C=3}
   * looks to the Go worker, which splits at commas), joined with ", "; otherwise null. Names only: values may be
   * secrets.
   */
  public static String commaListNames(EnvEntry entry) {
    String[] parts = entry.value().split(",", -1);
    if (parts.length < 2) {
      return null;
    }
    List<String> names = new ArrayList<>();
    for (int i = 1; i < parts.length; i++) {
      int eq = parts[i].indexOf('=');
      if (eq <= 0 || !parts[i].substring(0, eq).matches("[A-Za-z_][A-Za-z0-9_]*")) {
        return null;
      }
      names.add(parts[i].substring(0, eq));
    }
    return String.join(", ", names);
  }

  /** Reads a {@code {name, value?}} config entry; a missing value reads the host environment. */
  public static EnvEntry fromJson(String setting, JsonObject json, Map<String, String> hostEnv) {
    Object name = json.getValue("name");
    if (!(name instanceof String) || ((String) name).isEmpty()) {
      throw new ConfigException(setting + ".name is required");
    }
    String key = (String) name;
    if (hasWhitespace(key)) {
      throw new ConfigException(setting + ".name must not contain whitespace: \"" + key + "\"");
    }
    Object value = json.getValue("value");
    if (value != null && !(value instanceof String)) {
      throw new ConfigException(setting + ".value must be a string");
    }
    return new EnvEntry(key, value == null ? hostEnv.getOrDefault(key, "") : (String) value);
  }

  public JsonObject toJson() {
    return new JsonObject().put("name", name).put("value", value);
  }

  /** Never prints the value: task environment values are secrets. */
  @Override
  public String toString() {
    return name + "=<redacted>";
  }

  private static void checkName(String what, String name) {
    if (name == null || name.isEmpty()) {
      throw new ConfigException(what + ": empty name");
    }
    if (hasWhitespace(name)) {
      throw new ConfigException(what + ": name contains whitespace: \"" + name + "\"");
    }
  }

  static boolean hasWhitespace(String s) {
    return s.chars().anyMatch(Character::isWhitespace);
  }
}
