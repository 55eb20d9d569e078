package dev.oz.worker.net;

import java.io.FileNotFoundException;
import java.util.regex.Pattern;

/**
 * What a socket's failure says, in the same words whichever transport reported it. Netty's epoll transport names the
 * system call and errno before the reason Java NIO gives alone ("finishConnect(..) failed with error(-111):
 * Connection refused"), and fails a connect to a unix socket path that is not there with a
 * {@link FileNotFoundException} that has no message.
 */
public final class SocketErrors {
  private static final Pattern NATIVE_CALL = Pattern.compile("^\\w+\\(\\.\\.\\) failed with error\\(-?\\d+\\): ");

  private SocketErrors() {
  }

  /** {@code t}'s own message as an operator should read it; its class's name when it has none. */
  public static String reason(Throwable t) {
    String msg = t.getMessage();
    if (msg == null || msg.isBlank()) {
      return t instanceof FileNotFoundException ? "No such file or directory" : t.getClass().getSimpleName();
    }
    return NATIVE_CALL.matcher(msg.trim()).replaceFirst("");
  }
}
