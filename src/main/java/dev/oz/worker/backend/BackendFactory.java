package dev.oz.worker.backend;

import dev.oz.worker.config.BackendSettings;
import io.vertx.core.json.JsonObject;
import java.util.Map;

/**
 * A backend, found by name: register an implementation in {@code META-INF/services/dev.oz.worker.backend.BackendFactory}
 * and {@code --backend <name>} selects it. The factory owns its settings: the {@code -conf} block named after it, the
 * Go YAML {@code backend.<name>} block and its flags (see {@link BackendSettings}); the core never reads their keys.
 *
 * @param <O> the backend's parsed settings
 */
public interface BackendFactory<O> extends BackendSettings {

  @Override
  O options(JsonObject block, Map<String, String> hostEnv);

  /** Creates the backend inside its hosting verticle (so it can use that verticle's context); must not block. */
  TaskBackend create(BackendContext<O> context);

  /** What the lifecycle may assume of this backend's tasks. */
  BackendCapabilities capabilities(O options);
}
