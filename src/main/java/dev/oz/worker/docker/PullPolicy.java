package dev.oz.worker.docker;

import dev.oz.worker.config.ConfigException;
import java.util.Locale;

/** When the task image is pulled. A list of policies is tried in order as fallbacks. */
public enum PullPolicy {
  ALWAYS("always"),
  IF_NOT_PRESENT("if-not-present"),
  NEVER("never");

  private final String configName;

  PullPolicy(String configName) {
    this.configName = configName;
  }

  public String configName() {
    return configName;
  }

  /** Accepts our spelling ({@code if-not-present}) and the Kubernetes/Go one ({@code IfNotPresent}). */
  public static PullPolicy parse(String setting, String text) {
    String norm = text == null ? "" : text.trim().toLowerCase(Locale.ROOT).replace("-", "").replace("_", "");
    for (PullPolicy p : values()) {
      if (p.configName.replace("-", "").equals(norm)) {
        return p;
      }
    }
    throw new ConfigException(setting + ": unknown pull policy \"" + text
        + "\" (use always, if-not-present or never, or a list of them)");
  }
}
