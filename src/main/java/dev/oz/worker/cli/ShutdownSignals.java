package dev.oz.worker.cli;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import sun.misc.Signal;

/**
 * SIGTERM and SIGINT handling. A JVM shutdown hook cannot see a second signal, so the signals are handled
 * directly: the first starts a graceful shutdown, the second asks to hurry, a third exits at once.
 */
final class ShutdownSignals {
  private ShutdownSignals() {
  }

  static void install(Consumer<String> first, Consumer<String> again) {
    AtomicInteger count = new AtomicInteger();
    for (String name : new String[] {"TERM", "INT"}) {
      Signal.handle(new Signal(name), s -> {
        String label = "SIG" + s.getName();
        int n = count.incrementAndGet();
        if (n == 1) {
          first.accept(label);
        } else if (n == 2) {
          again.accept(label);
        } else {
          System.err.println("Received " + label + " a third time: exiting now");
          Runtime.getRuntime().halt(130);
        }
      });
    }
  }
}
