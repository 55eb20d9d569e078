package dev.oz.worker.backend;

import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Assignment variables named {@code WARP_METADATA_*} are the server's to set (GO-WORKER-NEWER.md section 7.3): an
 * operator-configured variable of the same name (compared upper-cased) would silently replace one, so the task fails
 * before launch instead.
 */
public final class MetadataEnv {
  public static final String PREFIX = "WARP_METADATA_";

  private MetadataEnv() {
  }

  /** The failure message for the first configured name that collides, or null when none does. */
  public static String conflict(List<TaskDescription.EnvVar> taskEnv, Iterable<String> configuredNames) {
    Set<String> metadata = new HashSet<>();
    for (TaskDescription.EnvVar e : taskEnv) {
      if (e.name().startsWith(PREFIX)) {
        metadata.add(e.name());
      }
    }
    if (metadata.isEmpty()) {
      return null;
    }
    for (String name : configuredNames) {
      String upper = name.toUpperCase(Locale.ROOT);
      if (metadata.contains(upper)) {
        return "metadata environment variable " + upper + " conflicts with configured environment variable \"" + name
            + "\"";
      }
    }
    return null;
  }
}
