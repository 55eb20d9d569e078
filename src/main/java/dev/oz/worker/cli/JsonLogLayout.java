package dev.oz.worker.cli;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.LayoutBase;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import org.slf4j.event.KeyValuePair;

/**
 * One JSON object per line: time, level, logger, thread, message, the event's key-value pairs (such as
 * {@code task_id}) as top-level fields, and the stack trace when there is one.
 */
public final class JsonLogLayout extends LayoutBase<ILoggingEvent> {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  @Override
  public String doLayout(ILoggingEvent event) {
    ObjectNode json = MAPPER.createObjectNode();
    json.put("time", Instant.ofEpochMilli(event.getTimeStamp()).toString());
    json.put("level", event.getLevel().toString());
    json.put("logger", event.getLoggerName());
    json.put("thread", event.getThreadName());
    json.put("message", event.getFormattedMessage());
    if (event.getKeyValuePairs() != null) {
      for (KeyValuePair kv : event.getKeyValuePairs()) {
        json.put(kv.key, String.valueOf(kv.value));
      }
    }
    if (event.getThrowableProxy() != null) {
      json.put("exception", ThrowableProxyUtil.asString(event.getThrowableProxy()));
    }
    return json.toString() + System.lineSeparator();
  }
}
