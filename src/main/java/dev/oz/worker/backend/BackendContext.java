package dev.oz.worker.backend;

import dev.oz.worker.config.WorkerOptions;
import io.vertx.core.Vertx;
import java.util.Map;

/**
 * What a backend is created with.
 *
 * @param worker the worker's own settings (worker id, cleanup, ...)
 * @param options this backend's settings, as its factory parsed them from its config block
 * @param hostEnv the process environment (engine discovery, credentials), injectable for tests
 */
public record BackendContext<O>(Vertx vertx, WorkerOptions worker, O options, Map<String, String> hostEnv) {
}
