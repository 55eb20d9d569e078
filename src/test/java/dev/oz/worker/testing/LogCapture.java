package dev.oz.worker.testing;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.slf4j.LoggerFactory;

/** Collects what is logged under a logger name (and its children) while open. */
public final class LogCapture implements AutoCloseable {
  private final Logger logger;
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

  private LogCapture(String name) {
    logger = (Logger) LoggerFactory.getLogger(name);
    appender.setContext(logger.getLoggerContext());
    appender.start();
    logger.addAppender(appender);
  }

  public static LogCapture of(String loggerName) {
    return new LogCapture(loggerName);
  }

  /** Everything logged by the worker (and Vert.x's blocked-thread checker, which is under io.vertx). */
  public static LogCapture root() {
    return new LogCapture(org.slf4j.Logger.ROOT_LOGGER_NAME);
  }

  public List<String> messages() {
    synchronized (appender) {
      return appender.list.stream().map(e -> e.getLevel() + " " + e.getFormattedMessage()
          + (e.getThrowableProxy() == null ? "" : " " + e.getThrowableProxy().getMessage() + "\n"
              + ch.qos.logback.classic.spi.ThrowableProxyUtil.asString(e.getThrowableProxy()))).toList();
    }
  }

  public boolean contains(String text) {
    return messages().stream().anyMatch(m -> m.contains(text));
  }

  public String all() {
    return String.join("\n", messages());
  }

  @Override
  public void close() {
    logger.detachAppender(appender);
  }
}
