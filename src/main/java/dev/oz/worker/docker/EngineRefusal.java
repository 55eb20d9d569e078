package dev.oz.worker.docker;

/** The engine's error answer to a request on its socket, with the HTTP status it gave. */
final class EngineRefusal extends IllegalStateException {
  private final int status;

  EngineRefusal(int status, String message) {
    super(message);
    this.status = status;
  }

  /**
   * True when {@code err} is the engine saying the container is gone: 404 (no such container) or 409 (dead or
   * marked for removal). Asking again cannot succeed.
   */
  static boolean containerGone(Throwable err) {
    return err instanceof EngineRefusal r && (r.status == 404 || r.status == 409);
  }
}
