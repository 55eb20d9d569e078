package dev.oz.worker.task;

import dev.oz.worker.protocol.ProtocolJson;
import dev.oz.worker.protocol.Task;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

/**
 * The {@code task} object as the Go worker's {@code json.Marshal(types.Task)} writes it (for the command backend's
 * dispatch payload): the protocol records already carry Go's field order and omit rules, so only the timestamps need
 * Go's round trip (RFC 3339, trailing zeros of the fraction cut, {@code Z} for UTC, the zero time when absent).
 */
final class GoTaskJson {
  private static final String ZERO_TIME = "0001-01-01T00:00:00Z";

  private GoTaskJson() {
  }

  static String encode(Task t) {
    return ProtocolJson.goJson(new Task(t.id(), t.title(), t.taskDefinition(), goTime(t.createdAt()),
        goTime(t.updatedAt()), t.owner(), t.agentConfigSnapshot(), t.agentConversationId()));
  }

  /** Go's time.Time round trip; a value Go could not parse is passed on as received. */
  static String goTime(String text) {
    if (text == null || text.isEmpty()) {
      return ZERO_TIME;
    }
    try {
      OffsetDateTime t = OffsetDateTime.parse(text, DateTimeFormatter.ISO_OFFSET_DATE_TIME);
      String base = t.format(DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss"));
      String fraction = "";
      if (t.getNano() != 0) {
        fraction = "." + String.format("%09d", t.getNano()).replaceAll("0+$", "");
      }
      String zone = t.getOffset().equals(ZoneOffset.UTC) ? "Z" : t.getOffset().getId();
      return base + fraction + zone;
    } catch (DateTimeParseException e) {
      return text;
    }
  }
}
