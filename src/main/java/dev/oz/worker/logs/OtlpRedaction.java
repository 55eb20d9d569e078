package dev.oz.worker.logs;

import dev.oz.worker.backend.TaskDescription;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The secrets of one task's OTLP log, as the Go worker redacts them (GO-WORKER-NEWER.md section 3): every value
 * (of at least {@link TaskDescription#MIN_SECRET_LENGTH} characters, as on the {@code task_log} stream) raw, URL-query-escaped, JSON-escaped (with and without Go's HTML escaping) and each of its CR/LF-separated
 * fragments (a record is one line, so a multi-line secret shows up a line at a time). At most 4096 variants and 1 MiB;
 * beyond that nothing can be trusted and every record becomes {@code [REDACTED]}. Thread-safe; secrets may be added
 * while the task runs (the identity token once issued).
 */
final class OtlpRedaction {
  static final String MARK = "[REDACTED]";
  static final int MAX_VARIANTS = 4096;
  static final int MAX_BYTES = 1024 * 1024;

  private final Set<String> variants = new LinkedHashSet<>();
  private int bytes;
  private volatile boolean overflow;
  private volatile SecretSet set = SecretSet.of(List.of());

  OtlpRedaction(List<String> values) {
    addAll(values);
  }

  synchronized void addAll(List<String> values) {
    boolean changed = false;
    for (String v : values) {
      changed |= addVariants(v);
    }
    if (changed && !overflow) {
      set = SecretSet.of(new ArrayList<>(variants));
    }
  }

  void add(String value) {
    addAll(List.of(value));
  }

  private boolean addVariants(String value) {
    // as on the task_log stream (unlike the Go worker): a value like "1" replaced everywhere would destroy the output
    if (value == null || value.length() < TaskDescription.MIN_SECRET_LENGTH || overflow) {
      return false;
    }
    if (value.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES) {
      overflow = true;
      return false;
    }
    List<String> forms = new ArrayList<>();
    forms.add(value);
    forms.add(queryEscape(value));
    forms.add(jsonEscape(value, true));
    forms.add(jsonEscape(value, false));
    for (String fragment : value.split("[\r\n]+")) {
      forms.add(fragment);
    }
    boolean changed = false;
    for (String f : forms) {
      if (f.length() < TaskDescription.MIN_SECRET_LENGTH || variants.contains(f)) {
        continue;
      }
      int size = f.getBytes(StandardCharsets.UTF_8).length;
      if (variants.size() >= MAX_VARIANTS || bytes + size > MAX_BYTES) {
        overflow = true;
        return changed;
      }
      variants.add(f);
      bytes += size;
      changed = true;
    }
    return changed;
  }

  boolean overflowed() {
    return overflow;
  }

  /** One line's text with every secret replaced; {@code [REDACTED]} as a whole once the secrets overflowed. */
  String redact(byte[] line, int length) {
    if (overflow) {
      return MARK;
    }
    SecretSet current = set;
    if (current.isEmpty()) {
      return new String(line, 0, length, StandardCharsets.UTF_8);
    }
    Redactor r = new Redactor(current);
    ByteArrayOutputStream out = new ByteArrayOutputStream(length + 16);
    r.process(line, 0, length, out::write);
    r.flush(out::write);
    return out.toString(StandardCharsets.UTF_8);
  }

  /** Go's {@code url.QueryEscape}: unreserved bytes stay, a space becomes {@code +}, the rest {@code %XX}. */
  static String queryEscape(String value) {
    StringBuilder out = new StringBuilder();
    for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
          || c == '.' || c == '~') {
        out.append((char) c);
      } else if (c == ' ') {
        out.append('+');
      } else {
        out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
    }
    return out.toString();
  }

  /** The inside of a JSON string literal; {@code html} also escapes {@code <>&} and U+2028/2029 as Go does. */
  static String jsonEscape(String value, boolean html) {
    StringBuilder out = new StringBuilder(value.length() + 8);
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20 || (html && (c == '<' || c == '>' || c == '&' || c == '\u2028' || c == '\u2029'))) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.toString();
  }
}
