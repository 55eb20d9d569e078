package dev.oz.worker.config;

/** A configuration value that cannot be used; the message names the setting and says why. */
public class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
