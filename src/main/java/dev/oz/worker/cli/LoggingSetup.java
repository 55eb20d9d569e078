package dev.oz.worker.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.joran.util.ConfigurationWatchListUtil;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Configures logback for the command-line worker: level and format from the options, output on stderr. */
final class LoggingSetup {
  static final String TEXT_PATTERN = "%d{HH:mm:ss.SSS} %-5level %logger{0} %kvp - %msg%n%ex";
  /** The appender installed last and its format: installing the same again would only parse the pattern again. */
  private static ConsoleAppender<ILoggingEvent> installed;
  private static String installedFormat;

  private LoggingSetup() {
  }

  /**
   * The command line's defaults (info, text) until its flags are read, set in code: logback's XML configurator
   * loads some 400 classes and costs a few hundred milliseconds of start-up. A configuration file logback found
   * itself ({@code -Dlogback.configurationFile}) is left in charge of everything but the root's appender and
   * level, as before.
   */
  static void defaults() {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx
        && ConfigurationWatchListUtil.getMainWatchURL(ctx) == null) {
      configure("info", "text");
    }
  }

  static synchronized void configure(String level, String format) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
      return; // another SLF4J backend: leave its configuration alone
    }
    ch.qos.logback.classic.Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
    if (installed != null && installed.isStarted() && root.getAppender(installed.getName()) == installed
        && format.equals(installedFormat)) {
      root.setLevel(Level.toLevel(level, Level.INFO));
      quietNoisyLoggers(ctx, level);
      return;
    }
    ConsoleAppender<ILoggingEvent> appender = new ConsoleAppender<>();
    appender.setContext(ctx);
    appender.setTarget("System.err");
    appender.setName("console");
    appender.setEncoder(encoder(ctx, format));
    appender.start();
    root.detachAndStopAllAppenders();
    root.addAppender(appender);
    root.setLevel(Level.toLevel(level, Level.INFO));
    installed = appender;
    installedFormat = format;
    quietNoisyLoggers(ctx, level);
  }

  private static void quietNoisyLoggers(LoggerContext ctx, String level) {
    // Vert.x registers some gauges once per client; Micrometer warns about the repeats, harmlessly
    ctx.getLogger("io.micrometer.core.instrument.MeterRegistry").setLevel(Level.ERROR);
    // the HTTP client's retry notes are noise next to the worker's own message about the engine
    if (!"debug".equals(level) && !"trace".equals(level)) {
      ctx.getLogger("org.apache.hc").setLevel(Level.WARN);
    }
  }

  private static Encoder<ILoggingEvent> encoder(LoggerContext ctx, String format) {
    if ("json".equals(format)) {
      JsonLogLayout layout = new JsonLogLayout();
      layout.setContext(ctx);
      layout.start();
      LayoutWrappingEncoder<ILoggingEvent> enc = new LayoutWrappingEncoder<>();
      enc.setContext(ctx);
      enc.setLayout(layout);
      enc.start();
      return enc;
    }
    PatternLayoutEncoder enc = new PatternLayoutEncoder();
    enc.setContext(ctx);
    enc.setPattern(TEXT_PATTERN);
    enc.start();
    return enc;
  }
}
