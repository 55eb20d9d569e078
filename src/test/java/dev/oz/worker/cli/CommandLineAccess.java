package dev.oz.worker.cli;

import dev.oz.worker.backend.BackendRegistry;
import dev.oz.worker.config.WorkerConfigLoader;
import dev.oz.worker.config.WorkerOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Loads options exactly as {@link Main} does, for tests in other packages. */
public final class CommandLineAccess {
  private CommandLineAccess() {
  }

  public static WorkerOptions load(List<String> flags, String conf, Path yaml, Map<String, String> env) {
    BackendRegistry backends = BackendRegistry.load();
    CommandLine cli = CommandLine.parse(flags, backends.settings());
    return WorkerConfigLoader.load(conf != null ? conf : cli.conf(), yaml, env, o -> cli.applyTo(o, env),
        backends.settings());
  }
}
