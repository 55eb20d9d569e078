package dev.oz.worker.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Typed, strict access to one JSON config object: every error names the full key path, and keys
 * nobody asked for are reported, so a typo never silently falls back to a default.
 */
public final class ConfigReader {
  private final JsonObject json;
  private final String path;
  private final Set<String> seen = new HashSet<>();

  public ConfigReader(JsonObject json, String path) {
    this.json = json == null ? new JsonObject() : json;
    this.path = path;
  }

  public String key(String name) {
    return path.isEmpty() ? name : path + "." + name;
  }

  private Object raw(String name) {
    seen.add(name);
    return json.getValue(name);
  }

  public void string(String name, Consumer<String> setter) {
    Object v = raw(name);
    if (v == null) {
      return;
    }
    if (!(v instanceof String)) {
      throw new ConfigException(key(name) + " must be a string, got " + describe(v));
    }
    setter.accept((String) v);
  }

  public void bool(String name, Consumer<Boolean> setter) {
    Object v = raw(name);
    if (v == null) {
      return;
    }
    if (!(v instanceof Boolean)) {
      throw new ConfigException(key(name) + " must be true or false, got " + describe(v));
    }
    setter.accept((Boolean) v);
  }

  /** true, false or "auto" (given to the setter as null). */
  public void boolOrAuto(String name, Consumer<Boolean> setter) {
    Object v = raw(name);
    if (v == null) {
      return;
    }
    if ("auto".equals(v)) {
      setter.accept(null);
    } else if (v instanceof Boolean b) {
      setter.accept(b);
    } else {
      throw new ConfigException(key(name) + " must be true, false or \"auto\", got " + describe(v));
    }
  }

  public void integer(String name, Consumer<Long> setter) {
    Object v = raw(name);
    if (v == null) {
      return;
    }
    if (!(v instanceof Number) || ((Number) v).doubleValue() != Math.rint(((Number) v).doubleValue())) {
      throw new ConfigException(key(name) + " must be a whole number, got " + describe(v));
    }
    setter.accept(((Number) v).longValue());
  }

  /** Any number, e.g. {@code 0.5}. */
  public void number(String name, Consumer<Double> setter) {
    Object v = raw(name);
    if (v == null) {
      return;
    }
    if (!(v instanceof Number)) {
      throw new ConfigException(key(name) + " must be a number, got " + describe(v));
    }
    setter.accept(((Number) v).doubleValue());
  }

  /** A whole number that must fit an int (no silent wrap-around of huge values). */
  public void intValue(String name, Consumer<Integer> setter) {
    integer(name, n -> {
      if (n < Integer.MIN_VALUE || n > Integer.MAX_VALUE) {
        throw new ConfigException(key(name) + " is out of range: " + n);
      }
      setter.accept(n.intValue());
    });
  }

  public void duration(String name, Consumer<Duration> setter) {
    Object v = raw(name);
    if (v == null) {
      return;
    }
    if (!(v instanceof String)) {
      throw new ConfigException(key(name) + " must be a duration string like \"10s\", got " + describe(v));
    }
    setter.accept(Durations.parse(key(name), (String) v));
  }

  public void stringList(String name, Consumer<List<String>> setter) {
    Object v = raw(name);
    if (v == null) {
      return;
    }
    if (v instanceof String) {
      setter.accept(List.of((String) v));
      return;
    }
    if (!(v instanceof JsonArray)) {
      throw new ConfigException(key(name) + " must be a list of strings, got " + describe(v));
    }
    List<String> out = new ArrayList<>();
    for (Object item : (JsonArray) v) {
      if (!(item instanceof String)) {
        throw new ConfigException(key(name) + " must be a list of strings, found " + describe(item));
      }
      out.add((String) item);
    }
    setter.accept(out);
  }

  public List<JsonObject> objectList(String name) {
    Object v = raw(name);
    List<JsonObject> out = new ArrayList<>();
    if (v == null) {
      return out;
    }
    if (!(v instanceof JsonArray)) {
      throw new ConfigException(key(name) + " must be a list, got " + describe(v));
    }
    for (Object item : (JsonArray) v) {
      if (!(item instanceof JsonObject)) {
        throw new ConfigException(key(name) + " entries must be objects, found " + describe(item));
      }
      out.add((JsonObject) item);
    }
    return out;
  }

  /**
   * An {@code environment}-style list, {@code [{name, value?}]}: each entry strict, a missing value the host's
   * (see {@link EnvEntry#fromJson}).
   */
  public List<EnvEntry> envEntries(String name, Map<String, String> hostEnv) {
    List<EnvEntry> env = new ArrayList<>();
    List<JsonObject> entries = objectList(name);
    for (int i = 0; i < entries.size(); i++) {
      String setting = key(name) + "[" + i + "]";
      ConfigReader entry = new ConfigReader(entries.get(i), setting);
      entry.string("name", n -> { });
      entry.string("value", v -> { });
      entry.rejectUnknownKeys();
      env.add(EnvEntry.fromJson(setting, entries.get(i), hostEnv));
    }
    return env;
  }

  /** A nested object, read with its own reader; absent means an empty object. */
  public ConfigReader object(String name) {
    Object v = raw(name);
    if (v != null && !(v instanceof JsonObject)) {
      throw new ConfigException(key(name) + " must be an object, got " + describe(v));
    }
    return new ConfigReader((JsonObject) v, key(name));
  }

  /** Fails on keys that were never read: they are typos or settings this worker does not have. */
  public void rejectUnknownKeys() {
    Set<String> unknown = new TreeSet<>(json.fieldNames());
    unknown.removeAll(seen);
    if (!unknown.isEmpty()) {
      String where = path.isEmpty() ? "" : " in " + path;
      throw new ConfigException("unknown setting" + (unknown.size() > 1 ? "s" : "") + where + ": "
          + String.join(", ", unknown));
    }
  }

  private static String describe(Object v) {
    if (v instanceof JsonObject) {
      return "an object";
    }
    if (v instanceof JsonArray) {
      return "a list";
    }
    if (v instanceof String) {
      return "\"" + v + "\"";
    }
    return String.valueOf(v);
  }
}
