package dev.oz.worker.cli;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import sun.misc.Signal;

/**
 * SIGTERM and SIGINT handling. A JVM shutdown hook cannot see a second signal, so the signals are handled
 * directly: the first starts a graceful shutdown, any later one asks to hurry.
 */
final class ShutdownSignals {
  private ShutdownSignals() {
  }

  static void install(Consumer<String> first, Consumer<String> again) {
    AtomicInteger count = new AtomicInteger();
    for (String name : new String[] {"TERM", "INT"}) {
      Signal.handle(new Signal(name), s -> {
        String label = "SIG" + s.getName();
        if (count.getAndIncrement() == 0) {
          first.accept(label);
        } else {
          again.accept(label);
        }
      });
    }
  }
}
