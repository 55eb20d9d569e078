package dev.oz.worker.metrics;

import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.SimpleFormatter;
import org.slf4j.LoggerFactory;

/**
 * The OpenTelemetry SDK logs through java.util.logging: its records (logger {@code io.opentelemetry}) go to
 * SLF4J instead of the JDK console handler. Messages about failed exports, which repeat with every export
 * interval, are kept at debug, since {@link ExportFailureLog} gives each worker its own rate-limited warning;
 * the console exporter's output stays at info; anything else keeps its level.
 *
 * <p>java.util.logging is configured per JVM, so this is installed once and shared by every worker.
 */
final class OtelJulLogging extends Handler {
  /** Held here: java.util.logging keeps loggers only weakly, and would drop the configuration with one. */
  private static final java.util.logging.Logger OTEL = java.util.logging.Logger.getLogger("io.opentelemetry");
  private static boolean installed;

  private final Formatter formatter = new SimpleFormatter();

  private OtelJulLogging() {
  }

  static synchronized void install() {
    if (installed) {
      return;
    }
    OTEL.addHandler(new OtelJulLogging());
    OTEL.setUseParentHandlers(false);
    installed = true;
  }

  static boolean aboutExports(String loggerName) {
    return loggerName.startsWith("io.opentelemetry.exporter.")
        || loggerName.startsWith("io.opentelemetry.sdk.metrics.export.")
        || loggerName.startsWith("io.opentelemetry.sdk.trace.export.");
  }

  @Override
  public void publish(LogRecord record) {
    String name = record.getLoggerName() == null ? "io.opentelemetry" : record.getLoggerName();
    org.slf4j.Logger target = LoggerFactory.getLogger(name);
    String message = formatter.formatMessage(record);
    Throwable thrown = record.getThrown();
    int level = record.getLevel().intValue();
    if (name.startsWith("io.opentelemetry.exporter.logging.")) {
      target.info(message, thrown);
    } else if (aboutExports(name) || level < Level.WARNING.intValue()) {
      target.debug(message, thrown);
    } else if (level < Level.SEVERE.intValue()) {
      target.warn(message, thrown);
    } else {
      target.error(message, thrown);
    }
  }

  @Override
  public void flush() {
  }

  @Override
  public void close() {
  }
}
