package dev.oz.worker.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** Reading command-line flag values, for the worker's flags and the backends' alike; errors name the flag. */
public final class FlagValues {
  private FlagValues() {
  }

  /** {@code true} or {@code false}, in any case. */
  public static boolean bool(String flag, String v) {
    if (v.equalsIgnoreCase("true")) {
      return true;
    }
    if (v.equalsIgnoreCase("false")) {
      return false;
    }
    throw new ConfigException(flag + ": expected true or false, got \"" + v + "\"");
  }

  public static int wholeNumber(String flag, String v) {
    try {
      return Integer.parseInt(v.trim());
    } catch (NumberFormatException e) {
      throw new ConfigException(flag + ": expected a whole number, got \"" + v + "\"");
    }
  }

  public static double number(String flag, String v) {
    try {
      return Double.parseDouble(v.trim());
    } catch (NumberFormatException e) {
      throw new ConfigException(flag + ": expected a number, got \"" + v + "\"");
    }
  }

  /** The list at {@code key} of a backend's block, to append a repeatable flag's value to (made when missing). */
  public static JsonArray list(JsonObject block, String key) {
    if (!(block.getValue(key) instanceof JsonArray)) {
      block.put(key, new JsonArray());
    }
    return block.getJsonArray(key);
  }
}
