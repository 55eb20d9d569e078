package dev.oz.worker.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What a worker process's event loops run on, seen from outside the process. */
public final class NativeTransport {
  private NativeTransport() {
  }

  /**
   * Whether the process {@code pid} runs event loops on Netty's epoll transport: each of them holds a timerfd, which
   * Java NIO's selector never opens (the native library alone is loaded either way).
   */
  public static boolean epollIn(long pid) throws IOException {
    try (var fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      return fds.anyMatch(fd -> {
        try {
          return Files.readSymbolicLink(fd).toString().contains("timerfd");
        } catch (IOException closedMeanwhile) {
          return false;
        }
      });
    }
  }
}
