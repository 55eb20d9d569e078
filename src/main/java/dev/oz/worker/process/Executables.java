package dev.oz.worker.process;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Finding executables as a shell would. Blocking (file checks). */
public final class Executables {
  private Executables() {
  }

  /**
   * {@code name} itself when it contains a slash, else the first executable file of that name in {@code path}
   * (a colon-separated list), then in {@code fallbackDirs}; null when there is none.
   */
  public static Path find(String name, String path, List<String> fallbackDirs) {
    if (name.contains("/")) {
      Path p = Path.of(name);
      return isExecutableFile(p) ? p.toAbsolutePath() : null;
    }
    if (path != null) {
      for (String dir : path.split(":")) {
        Path p = Path.of(dir.isEmpty() ? "." : dir, name);
        if (isExecutableFile(p)) {
          return p.toAbsolutePath();
        }
      }
    }
    for (String dir : fallbackDirs) {
      Path p = Path.of(dir, name);
      if (isExecutableFile(p)) {
        return p;
      }
    }
    return null;
  }

  public static boolean isExecutableFile(Path p) {
    return Files.isRegularFile(p) && Files.isExecutable(p);
  }
}
