package dev.oz.worker.backend;

import dev.oz.worker.config.BackendSettings;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/** The backends registered through {@link ServiceLoader}, by name. */
public final class BackendRegistry {
  private final Map<String, BackendFactory<?>> factories;

  private BackendRegistry(Map<String, BackendFactory<?>> factories) {
    this.factories = factories;
  }

  /** Every factory registered on the class path. */
  public static BackendRegistry load() {
    Map<String, BackendFactory<?>> found = new TreeMap<>();
    for (BackendFactory<?> f : ServiceLoader.load(BackendFactory.class, BackendRegistry.class.getClassLoader())) {
      BackendFactory<?> other = found.putIfAbsent(f.name(), f);
      if (other != null && other.getClass() != f.getClass()) {
        throw new IllegalStateException("two backends named \"" + f.name() + "\": " + other.getClass().getName()
            + " and " + f.getClass().getName());
      }
    }
    return new BackendRegistry(found);
  }

  /** This one factory, whatever is registered (embedding and tests). */
  public static BackendRegistry of(BackendFactory<?> factory) {
    return new BackendRegistry(Map.of(factory.name(), factory));
  }

  /** The factory named {@code name}; a {@link dev.oz.worker.config.ConfigException} that says why there is none otherwise. */
  public BackendFactory<?> get(String name) {
    return (BackendFactory<?>) BackendSettings.select(factories, name);
  }

  /** Every registered backend's settings, for the config loader and the command line. */
  public Map<String, BackendSettings> settings() {
    return Map.copyOf(factories);
  }
}
